// Package mapping links hotel staff to the provider's operators and opens chat sessions: a
// staff member who opens "Chats with guests" is signed in as the operator they are linked to.
package mapping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// Store is the storage the mapping needs.
type Store interface {
	GetStaff(ctx context.Context, pid, sid string) (*bellhop.Staff, error)
	GetMapping(ctx context.Context, pid, sid string) (*bellhop.Mapping, error)
	SetMapping(ctx context.Context, m *bellhop.Mapping) (*bellhop.MappingChange, error)
	DeleteMapping(ctx context.Context, pid, sid, actor string, at time.Time) (*bellhop.MappingChange, error)
	ListMapping(ctx context.Context, pid string) ([]*bellhop.StaffMapping, error)
	ListMappingChanges(ctx context.Context, pid, sid string, limit int) ([]*bellhop.MappingChange, error)
}

// Connector gives the property's integration and a client for it (connector.Service).
type Connector interface {
	Primary(ctx context.Context, pid string) (*bellhop.Integration, error)
	Client(in *bellhop.Integration) (provider.Provider, error)
	ProviderError(ctx context.Context, in *bellhop.Integration, doing string, err error) error
	Title(kind string) string
}

// Config wires a Service. Zero values mean defaults where one is given.
type Config struct {
	Store     Store
	Connector Connector
	Clock     bellhop.Clock // default: system clock
	Logger    *slog.Logger  // default: slog.Default()
	// OperatorsTTL is how long a provider's operator list is reused; default 30 s. Short,
	// because a page that lists operators is usually followed at once by a choice among them.
	OperatorsTTL time.Duration
}

// Service manages links and opens chat sessions.
type Service struct {
	cfg Config

	mu    sync.Mutex
	cache map[string]cachedOperators // by property/provider
}

type cachedOperators struct {
	// key tells a list fetched with another API key or base URL apart.
	key       string
	operators []bellhop.Operator
	fetchedAt time.Time
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Connector == nil {
		return nil, errors.New("mapping: Store and Connector are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OperatorsTTL <= 0 {
		cfg.OperatorsTTL = 30 * time.Second
	}
	return &Service{cfg: cfg, cache: map[string]cachedOperators{}}, nil
}

// Operators is the provider's operator list as the API shows it.
type Operators struct {
	Provider  string             `json:"provider"`
	Operators []bellhop.Operator `json:"operators"`
	FetchedAt time.Time          `json:"fetched_at"`
}

// Operators lists the provider's operators, reusing a list fetched within OperatorsTTL. A
// provider that does not answer is provider_unavailable.
func (s *Service) Operators(ctx context.Context, pid string) (*Operators, error) {
	in, err := s.cfg.Connector.Primary(ctx, pid)
	if err != nil {
		return nil, err
	}
	c, err := s.operators(ctx, in, false)
	if err != nil {
		return nil, err
	}
	return &Operators{Provider: in.Provider, Operators: c.operators, FetchedAt: c.fetchedAt}, nil
}

// operators returns the cached list or, when it is stale, missing or fresh is asked for, a
// live one.
func (s *Service) operators(ctx context.Context, in *bellhop.Integration, fresh bool) (cachedOperators, error) {
	cacheKey := in.PropertyID + "/" + in.Provider
	// The sealed key changes whenever the key does, so a new key never sees the old list.
	version := fmt.Sprintf("%x|%s", in.SealedKey, in.BaseURL)
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	c, ok := s.cache[cacheKey]
	s.mu.Unlock()
	if ok && !fresh && c.key == version && now.Sub(c.fetchedAt) < s.cfg.OperatorsTTL {
		return c, nil
	}
	p, err := s.cfg.Connector.Client(in)
	if err != nil {
		return cachedOperators{}, err
	}
	ops, err := p.Operators(ctx)
	if err != nil {
		return cachedOperators{}, s.cfg.Connector.ProviderError(ctx, in, "list the operators", err)
	}
	if ops == nil {
		ops = []bellhop.Operator{}
	}
	c = cachedOperators{key: version, operators: ops, fetchedAt: now.UTC()}
	s.mu.Lock()
	s.cache[cacheKey] = c
	s.mu.Unlock()
	return c, nil
}

func findOperator(ops []bellhop.Operator, id string) (bellhop.Operator, bool) {
	for _, o := range ops {
		if o.ID == id {
			return o, true
		}
	}
	return bellhop.Operator{}, false
}

// StaffRef names a staff member in a link.
type StaffRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// Entry is one active staff member and their operator.
type Entry struct {
	Staff StaffRef `json:"staff"`
	// Operator is nil when none is selected.
	Operator *bellhop.OperatorRef `json:"operator"`
	// OperatorMissing is true when the linked operator no longer exists at the provider:
	// the member's chat sessions fail until someone picks another.
	OperatorMissing bool       `json:"operator_missing"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
	UpdatedBy       string     `json:"updated_by,omitempty"`
}

// List is every active staff member with their operator.
type List struct {
	Provider string `json:"provider,omitempty"`
	// OperatorsChecked is false when the provider's operators could not be read, so missing
	// operators cannot be told; Warning then says why.
	OperatorsChecked bool               `json:"operators_checked"`
	Warning          string             `json:"warning,omitempty"`
	Mapping          []Entry            `json:"mapping"`
	Operators        []bellhop.Operator `json:"operators"`
}

// List lists every active staff member with their operator or none, and flags links to
// operators the provider no longer has. It answers even when the provider does not: the links
// are Bellhop's own, and the warning says what could not be checked.
func (s *Service) List(ctx context.Context, pid string) (*List, error) {
	links, err := s.cfg.Store.ListMapping(ctx, pid)
	if err != nil {
		return nil, err
	}
	out := &List{Mapping: make([]Entry, 0, len(links)), Operators: []bellhop.Operator{}}
	var ops []bellhop.Operator
	in, err := s.cfg.Connector.Primary(ctx, pid)
	switch {
	case bellhop.ErrorCode(err) == bellhop.ENotReady:
		out.Warning = bellhop.ErrorMessage(err)
	case err != nil:
		return nil, err
	default:
		out.Provider = in.Provider
		c, err := s.operators(ctx, in, false)
		if code := bellhop.ErrorCode(err); code == bellhop.EInternal {
			return nil, err
		} else if err != nil {
			out.Warning = bellhop.ErrorMessage(err)
		} else {
			ops, out.OperatorsChecked, out.Operators = c.operators, true, c.operators
		}
	}
	for _, l := range links {
		e := Entry{Staff: StaffRef{ID: l.Staff.ID, Name: l.Staff.Name, Email: l.Staff.Email}}
		if m := l.Mapping; m != nil {
			e.Operator = &bellhop.OperatorRef{ID: m.OperatorID, Name: m.OperatorName}
			e.UpdatedAt, e.UpdatedBy = &m.UpdatedAt, m.UpdatedBy
			if out.OperatorsChecked {
				if o, ok := findOperator(ops, m.OperatorID); ok && m.Provider == in.Provider {
					e.Operator.Name = o.Name
				} else {
					e.OperatorMissing = true
				}
			}
		}
		out.Mapping = append(out.Mapping, e)
	}
	return out, nil
}

// Link links an active staff member to an operator the provider knows; an unknown operator id
// is invalid_input naming operator_id. actor says who links ("token:<id>").
func (s *Service) Link(ctx context.Context, pid, sid, operatorID, actor string) (*Entry, error) {
	if operatorID == "" {
		return nil, bellhop.Invalid("operator_id", "is required")
	}
	st, err := s.activeStaff(ctx, pid, sid, "linked")
	if err != nil {
		return nil, err
	}
	in, err := s.cfg.Connector.Primary(ctx, pid)
	if err != nil {
		return nil, err
	}
	c, err := s.operators(ctx, in, false)
	if err != nil {
		return nil, err
	}
	op, ok := findOperator(c.operators, operatorID)
	if !ok {
		// The operator may have been added since the list was read: ask once more.
		if c, err = s.operators(ctx, in, true); err != nil {
			return nil, err
		}
		if op, ok = findOperator(c.operators, operatorID); !ok {
			return nil, bellhop.Invalid("operator_id", "%s has no operator %q; pick one of the operators it lists", s.cfg.Connector.Title(in.Provider), operatorID)
		}
	}
	m := &bellhop.Mapping{PropertyID: pid, StaffID: st.ID, Provider: in.Provider, OperatorID: op.ID,
		OperatorName: op.Name, UpdatedAt: s.cfg.Clock.Now().UTC(), UpdatedBy: actor}
	change, err := s.cfg.Store.SetMapping(ctx, m)
	if err != nil {
		return nil, err
	}
	if change != nil {
		s.cfg.Logger.InfoContext(ctx, "staff linked to operator", "property", pid, "staff", sid,
			"operator", op.ID, "previous", refID(change.Old), "actor", actor)
	}
	return &Entry{Staff: StaffRef{ID: st.ID, Name: st.Name, Email: st.Email},
		Operator: &bellhop.OperatorRef{ID: m.OperatorID, Name: m.OperatorName}, UpdatedAt: &m.UpdatedAt, UpdatedBy: m.UpdatedBy}, nil
}

// Unlink removes a staff member's link; one with no link is left as it is.
func (s *Service) Unlink(ctx context.Context, pid, sid, actor string) error {
	if _, err := s.activeStaff(ctx, pid, sid, "unlinked"); err != nil {
		return err
	}
	change, err := s.cfg.Store.DeleteMapping(ctx, pid, sid, actor, s.cfg.Clock.Now().UTC())
	if err != nil {
		return err
	}
	if change != nil {
		s.cfg.Logger.InfoContext(ctx, "staff unlinked from operator", "property", pid, "staff", sid,
			"previous", refID(change.Old), "actor", actor)
	}
	return nil
}

// Changes returns the audit trail of links, newest first; sid, when not empty, keeps one
// staff member's. limit is capped at 500 and defaults to 100.
func (s *Service) Changes(ctx context.Context, pid, sid string, limit int) ([]*bellhop.MappingChange, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	list, err := s.cfg.Store.ListMappingChanges(ctx, pid, sid, limit)
	if list == nil && err == nil {
		list = []*bellhop.MappingChange{}
	}
	return list, err
}

// Session is a chat session: the page that signs the staff member in as their operator.
type Session struct {
	URL       string              `json:"url"`
	ExpiresAt time.Time           `json:"expires_at"`
	Operator  bellhop.OperatorRef `json:"operator"`
	Provider  string              `json:"provider"`
}

// OpenChat asks the provider for a one-time login of the operator a staff member is linked to.
// An unlinked member is not_mapped, an inactive integration not_ready, and an operator the
// provider no longer has operator_missing; each message says to ask the administrator.
func (s *Service) OpenChat(ctx context.Context, pid, sid string) (*Session, error) {
	st, err := s.activeStaff(ctx, pid, sid, "given chats")
	if err != nil {
		return nil, err
	}
	in, err := s.cfg.Connector.Primary(ctx, pid)
	if bellhop.ErrorCode(err) == bellhop.ENotReady {
		return nil, bellhop.Errorf(bellhop.ENotReady, "Chats with guests are not set up yet: ask your administrator to connect the messaging provider on the Contact Center page.")
	} else if err != nil {
		return nil, err
	}
	title := s.cfg.Connector.Title(in.Provider)
	if !in.Active {
		return nil, bellhop.Errorf(bellhop.ENotReady, "Chats with guests are switched off: the %s integration is not active. Ask your administrator to activate it on the Contact Center page.", title)
	}
	m, err := s.cfg.Store.GetMapping(ctx, pid, sid)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Provider != in.Provider {
		return nil, bellhop.Errorf(bellhop.ENotMapped, "%s is not linked to a %s operator yet. Ask your administrator to link you on the Contact Center page (Users tab).", st.Name, title)
	}
	p, err := s.cfg.Connector.Client(in)
	if err != nil {
		return nil, err
	}
	code, err := p.LoginCode(ctx, m.OperatorID)
	if provider.FailureOf(err) == provider.FailNotFound {
		// The cached list still has the operator: forget it, so the mapping shows it missing.
		s.mu.Lock()
		delete(s.cache, in.PropertyID+"/"+in.Provider)
		s.mu.Unlock()
		return nil, &bellhop.Error{Code: bellhop.EOperatorMissing, Err: err, Message: fmt.Sprintf(
			"%s is linked to operator %q (%s), which %s no longer has. Ask your administrator to pick another operator on the Contact Center page.",
			st.Name, m.OperatorID, m.OperatorName, title)}
	} else if err != nil {
		return nil, s.cfg.Connector.ProviderError(ctx, in, "open the chat", err)
	}
	if code.URL == "" {
		return nil, fmt.Errorf("%s gave a login code for operator %s without a page to open", title, m.OperatorID)
	}
	// The URL carries a one-time code: it is not logged.
	s.cfg.Logger.InfoContext(ctx, "chat session opened", "property", pid, "staff", sid, "operator", m.OperatorID, "expires_at", code.ExpiresAt)
	return &Session{URL: code.URL, ExpiresAt: code.ExpiresAt.UTC(), Provider: in.Provider,
		Operator: bellhop.OperatorRef{ID: m.OperatorID, Name: m.OperatorName}}, nil
}

// activeStaff reads a staff member who must be active to be acted on.
func (s *Service) activeStaff(ctx context.Context, pid, sid, doing string) (*bellhop.Staff, error) {
	st, err := s.cfg.Store.GetStaff(ctx, pid, sid)
	if err != nil {
		return nil, err
	}
	if !st.Active {
		return nil, bellhop.Errorf(bellhop.EConflict, "%s is deactivated in the PMS, so they cannot be %s; reactivate them there first.", st.Name, doing)
	}
	return st, nil
}

func refID(r *bellhop.OperatorRef) string {
	if r == nil {
		return ""
	}
	return r.ID
}
