// Package shape compares the structure of two JSON documents: a sandbox's answer against the
// recorded answer of the real service, so the two cannot drift apart. Test code only.
package shape

import (
	"fmt"
	"slices"
)

// Kind names the JSON type of a decoded value.
func Kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Diff lists where got's structure differs from want's (both decoded with encoding/json into
// any): object keys, recursively; JSON value types; for arrays, the first element of each, and
// an empty array where the recorded one has items. field, when not nil, checks each of got's
// object members further (e.g. a time format) and returns what is wrong, or "".
func Diff(path string, want, got any, field func(key string, v any) string) []string {
	if Kind(want) != Kind(got) {
		return []string{fmt.Sprintf("%s: want %s, got %s", path, Kind(want), Kind(got))}
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			out = append(out, Diff(path+"."+k, w[k], g[k], field)...)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				out = append(out, path+"."+k+": not in the recorded answer")
			}
			if field != nil {
				if msg := field(k, g[k]); msg != "" {
					out = append(out, path+"."+k+": "+msg)
				}
			}
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) > 0 {
			out = append(out, Diff(path+"[0]", w[0], g[0], field)...)
		}
		if len(w) > 0 && len(g) == 0 {
			out = append(out, path+": empty, the recorded answer has items")
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
