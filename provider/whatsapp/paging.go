package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bellhop/bellhop/provider"
)

const (
	// graphPageSize is what a Graph list page is asked for; without limit the API gives 25.
	graphPageSize = 100
	// d360PageSize is what a 360dialog template page is asked for.
	d360PageSize = 1000
	// maxPages bounds a list (5,000 numbers or templates a page of 100): past it the list is
	// refused rather than passed off as whole.
	maxPages = 50
)

// graphList reads a Graph API list page by page and hands each item, decoded as T, to fn. It
// follows paging.cursors.after, and only while the answer names a next page: the next URL
// itself is never called, so a page cannot send the client (and its token) elsewhere. A
// repeated cursor, a next page without a cursor or more than maxPages pages is an error: a
// truncated list must not pass for a whole one.
func graphList[T any](ctx context.Context, c *Client, step, path string, q url.Values, fn func(T) error) error {
	pq := url.Values{}
	for k, v := range q {
		pq[k] = v
	}
	pq.Set("limit", strconv.Itoa(graphPageSize))
	seen := map[string]bool{}
	for page := 1; ; page++ {
		a, err := c.do(ctx, step, http.MethodGet, path, pq, nil)
		if err != nil {
			return err
		}
		var p wirePage
		if err := decodeJSON(a.body, &p); err != nil {
			return c.decodeError(step, a.status, err)
		}
		if p.Data == nil {
			return c.fail(step, provider.FailInternal, a.status, "the answer has no data list", nil)
		}
		for _, raw := range *p.Data {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return c.decodeError(step, a.status, err)
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if p.Paging == nil || p.Paging.Next == "" || len(*p.Data) == 0 {
			return nil
		}
		after := p.Paging.Cursors.After
		if after == "" {
			if u, err := url.Parse(p.Paging.Next); err == nil {
				after = u.Query().Get("after")
			}
		}
		switch {
		case after == "":
			return c.fail(step, provider.FailInternal, a.status, "the answer names a next page but no cursor to it", nil)
		case seen[after]:
			return c.fail(step, provider.FailInternal, a.status, "the provider repeats a page cursor: the list cannot be read whole", nil)
		case page >= maxPages:
			return c.fail(step, provider.FailInternal, a.status, fmt.Sprintf("the list goes on past %d pages", maxPages), nil)
		}
		seen[after] = true
		pq.Set("after", after)
	}
}

// templates360 reads 360dialog's templates, every page (offset and limit, with a total).
func (c *Client) templates360(ctx context.Context) ([]*wireTemplate, error) {
	const step = "list templates (GET v1/configs/templates)"
	var out []*wireTemplate
	seen := map[string]bool{}
	offset := 0
	for page := 1; ; page++ {
		q := url.Values{"limit": {strconv.Itoa(d360PageSize)}, "offset": {strconv.Itoa(offset)}}
		a, err := c.do(ctx, step, http.MethodGet, "v1/configs/templates", q, nil)
		if err != nil {
			return nil, err
		}
		var w wire360Templates
		if err := decodeJSON(a.body, &w); err != nil {
			return nil, c.decodeError(step, a.status, err)
		}
		if w.Templates == nil {
			return nil, c.fail(step, provider.FailInternal, a.status, "the answer has no waba_templates list", nil)
		}
		fresh := 0
		for _, t := range *w.Templates {
			if t == nil {
				continue
			}
			key := string(t.ID) + "\x00" + t.Name + "\x00" + t.language()
			if !seen[key] {
				seen[key] = true
				out = append(out, t)
				fresh++
			}
		}
		n := len(*w.Templates)
		offset += n
		switch {
		case n == 0:
			return out, nil
		case fresh == 0:
			if w.Total.set && offset < w.Total.n {
				return nil, c.fail(step, provider.FailInternal, a.status, "the provider repeats a page (it ignores offset): the list cannot be read whole", nil)
			}
			return out, nil
		case w.Total.set && offset >= w.Total.n:
			return out, nil
		case !w.Total.set && n < d360PageSize && (!w.Limit.set || n < w.Limit.n):
			return out, nil
		case page >= maxPages:
			return nil, c.fail(step, provider.FailInternal, a.status, fmt.Sprintf("the list goes on past %d pages", maxPages), nil)
		}
	}
}
