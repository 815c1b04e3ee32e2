package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table prints aligned columns, indented under a scenario's title.
type table struct{ tw *tabwriter.Writer }

func newTable(out io.Writer, cols ...string) *table {
	t := &table{tw: tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)}
	t.line(cols...)
	return t
}

func (t *table) line(cells ...string) { fmt.Fprintln(t.tw, "  "+strings.Join(cells, "\t")+"\t") }

func (t *table) flush() { _ = t.tw.Flush() }

// row prints one measure for both sides of a comparison.
func row[T any](t *table, label string, f func(T) string, r [2]T) {
	t.line(label, f(r[0]), f(r[1]))
}
