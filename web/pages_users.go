package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/bellhop/bellhop"
)

// userRow is one staff member on the Users tab.
type userRow struct {
	ID, Name, Email string
	Options         []option
	Unmapped        bool
	Missing         bool
	MissingName     string
}

func (p *pages) usersPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.setTitle("title.users")
	v.Tab = "users"
	var data struct {
		Notice, Warning string
		Unmapped        int
		Rows            []userRow
	}
	ctx, cancel := context.WithTimeout(r.Context(), providerWait)
	defer cancel()
	list, err := p.s.cfg.Mapping.List(ctx, v.Property.ID)
	if isInternal(err) {
		p.fail(w, r, v, err)
		return
	} else if err != nil {
		data.Notice = p.errText(r, v, err)
	} else {
		data.Warning = fieldMessage(v.Lang, list.Warning)
		for _, e := range list.Mapping {
			row := userRow{ID: e.Staff.ID, Name: e.Staff.Name, Email: e.Staff.Email, Unmapped: e.Operator == nil, Missing: e.OperatorMissing}
			found := false
			for _, op := range list.Operators {
				sel := e.Operator != nil && e.Operator.ID == op.ID
				found = found || sel
				label := op.Name
				if op.Email != "" {
					label += " · " + op.Email
				}
				row.Options = append(row.Options, option{Value: op.ID, Label: label, Selected: sel})
			}
			if e.Operator != nil && !found {
				// Linked to an operator the list lacks: gone, or the list could not be read.
				label := e.Operator.Name
				if e.OperatorMissing {
					label += " (" + tr(v.Lang, "users.missing_short") + ")"
				}
				row.Options = append(row.Options, option{Value: e.Operator.ID, Label: label, Selected: true})
			}
			if e.OperatorMissing {
				row.MissingName = e.Operator.Name
				if row.MissingName == "" {
					row.MissingName = e.Operator.ID
				}
			}
			if e.Operator == nil {
				data.Unmapped++
			}
			data.Rows = append(data.Rows, row)
		}
	}
	v.Data = data
	p.render(w, r, http.StatusOK, "users", v)
}

// linkUser saves one staff member's operator; "Not selected" unlinks. The page's dropdowns
// post here at once and get JSON back; without script the form posts and comes back.
func (p *pages) linkUser(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	pid, sid := v.Property.ID, r.PathValue("sid")
	op := strings.TrimSpace(r.PostFormValue("operator_id"))
	actor := "web:" + v.Session.Actor
	var err error
	msg := tr(v.Lang, "flash.unlinked")
	if op == "" {
		err = p.s.cfg.Mapping.Unlink(ctx, pid, sid, actor)
	} else {
		_, err = p.s.cfg.Mapping.Link(ctx, pid, sid, op, actor)
		msg = tr(v.Lang, "flash.linked")
	}
	if wantsJSON(r) {
		if err != nil {
			status, ok := statusOf[bellhop.ErrorCode(err)]
			if !ok {
				status = http.StatusInternalServerError
			}
			writeJSON(w, status, map[string]any{"ok": false, "message": p.errText(r, v, err)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": msg})
		return
	}
	back := "/p/" + pid + "/users"
	if err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back)
		return
	}
	p.done(w, r, "ok", msg, back)
}
