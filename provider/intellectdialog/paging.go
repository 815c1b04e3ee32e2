package intellectdialog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/internal/apiclient"
)

const (
	// pageLimit is the most the API gives per page; without it, it gives apiDefaultLimit.
	pageLimit       = 500
	apiDefaultLimit = 20
	// maxListPages bounds senders, operators and the stop list (10⁵ items at 500 a page).
	maxListPages = 200
	// defaultMessagePages is MessageFilter.MaxPages' default.
	defaultMessagePages = 100
)

// eachPage reads a list page by page (limit, offset) and hands each page's items to fn, which
// may stop early. It pages by the number of items actually received, because a server may
// ignore limit. It stops when the provider's total is reached, on an empty page, on a short
// page when there is no total, or on a page of items it has seen (a server that ignores offset).
// Past maxPages it returns an error: a truncated list must not pass for a whole one.
func (c *Client) eachPage(ctx context.Context, step, path string, q url.Values, maxPages int, fn func(items []json.RawMessage) (stop bool, err error)) error {
	if maxPages <= 0 {
		maxPages = maxListPages
	}
	pq := url.Values{}
	for k, v := range q {
		pq[k] = v
	}
	seen := make(map[string]bool)
	offset := 0
	for page := 1; ; page++ {
		pq.Set("limit", strconv.Itoa(pageLimit))
		pq.Set("offset", strconv.Itoa(offset))
		r, err := c.do(ctx, step, http.MethodGet, path, pq, nil, true)
		if err != nil {
			return err
		}
		items, err := listItems(r.data())
		if err != nil {
			return c.decodeError(step, err)
		}
		p := r.pagin()
		if p == nil && page == 1 {
			c.log.Debug("intellectdialog: a list answer without pagin", "step", step)
		}
		fresh := make([]json.RawMessage, 0, len(items))
		for _, it := range items {
			if id := itemID(it); id != "" {
				if seen[id] {
					continue
				}
				seen[id] = true
			}
			fresh = append(fresh, it)
		}
		if len(items) > 0 && len(fresh) == 0 {
			// The server ignores offset. Without a total the list may well be whole; with one
			// that says there is more, the rest cannot be read.
			if p != nil && p.Total.set && offset < p.Total.n {
				return c.fail(step, provider.FailInternal, r.status,
					fmt.Sprintf("the provider repeats the first %d of %d items (it ignores offset)", offset, p.Total.n), nil)
			}
			c.warn.Warn("same-page:"+path, "intellectdialog: the provider answered a page it had given already; it seems to ignore offset",
				"step", step, "offset", offset)
			return nil
		}
		if len(fresh) > 0 {
			if stop, err := fn(fresh); err != nil || stop {
				return err
			}
		}
		offset += len(items)
		if !morePages(len(items), offset, p) {
			return nil
		}
		if page >= maxPages {
			return c.fail(step, provider.FailInternal, r.status,
				fmt.Sprintf("the list goes on past %d pages (%d items read); narrow the request", maxPages, offset), nil)
		}
	}
}

// morePages decides from a page of n items, the offset after it and the paging numbers whether
// to ask for the next page.
func morePages(n, offset int, p *wirePagin) bool {
	if n == 0 {
		return false
	}
	if p != nil && p.Total.set {
		return offset < p.Total.n
	}
	size := pageLimit
	if p != nil && p.Limit.set && p.Limit.n > 0 {
		size = p.Limit.n
	}
	// A full page, or exactly the API's default page: limit may have been ignored.
	return n >= size || n == apiDefaultLimit
}

// listItems reads a list's data: an array, one object (a list of one) or null (none).
func listItems(raw json.RawMessage) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	switch {
	case apiclient.IsNull(t):
		return nil, nil
	case t[0] == '{':
		return []json.RawMessage{t}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(t, &items); err != nil {
		return nil, fmt.Errorf("data is not a list: %w", err)
	}
	return items, nil
}

// itemID is an item's id, "" when it has none.
func itemID(raw json.RawMessage) string {
	var v struct {
		ID flexString `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return string(v.ID)
}

// listAll reads every page of a list and decodes its items as T.
func listAll[T any](ctx context.Context, c *Client, step, path string, q url.Values, maxPages int) ([]T, error) {
	var out []T
	err := c.eachPage(ctx, step, path, q, maxPages, func(items []json.RawMessage) (bool, error) {
		for _, raw := range items {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return true, c.decodeError(step, err)
			}
			out = append(out, v)
		}
		return false, nil
	})
	return out, err
}
