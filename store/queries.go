package store

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed queries.sql
var queriesSQL string

// parsedQueries holds queries.sql parsed once; it is never modified.
var parsedQueries = sync.OnceValues(func() (map[string]string, error) { return parseQueries(queriesSQL) })

// loadQueries returns the named queries written for dialect.
func loadQueries(dialect string) (map[string]string, error) {
	qs, err := parsedQueries()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(qs))
	for name, q := range qs {
		if dialect == DialectPostgres {
			q = rebind(q)
		}
		out[name] = q
	}
	return out, nil
}

// parseQueries splits a file of queries, each headed by a "-- name: NAME" line.
func parseQueries(src string) (map[string]string, error) {
	const marker = "-- name:"
	qs := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() error {
		if name == "" {
			return nil
		}
		q := strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
		if q == "" {
			return fmt.Errorf("queries.sql: query %q is empty", name)
		}
		if _, dup := qs[name]; dup {
			return fmt.Errorf("queries.sql: query %q is defined twice", name)
		}
		qs[name] = q
		return nil
	}
	for _, line := range strings.Split(src, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), marker); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(rest)
			body.Reset()
			continue
		}
		if name != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return qs, nil
}

// rebind rewrites "?" placeholders as PostgreSQL's $1, $2, …, leaving alone a "?" inside a
// quoted string, a quoted identifier or a "--" comment.
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // the quote we are inside, or 0
	comment := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case comment:
			comment = c != '\n'
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			comment = true
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func sortedNames(qs map[string]string) []string {
	names := make([]string, 0, len(qs))
	for name := range qs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
