package memo

import "testing"

func TestMapRemembersUpToItsLimit(t *testing.T) {
	calls := map[string]int{}
	f := func(k string) (string, bool) {
		calls[k]++
		return k + "!", k != "err"
	}
	m := Map[string, string]{Limit: 2}
	for range 3 {
		for _, k := range []string{"a", "b", "c", "err"} {
			if got := m.Get(k, f); got != k+"!" {
				t.Errorf("Get(%q) = %q, want %q", k, got, k+"!")
			}
		}
	}
	// a and b are kept (the limit is 2); c comes after it and err is never kept.
	want := map[string]int{"a": 1, "b": 1, "c": 3, "err": 3}
	for k, n := range want {
		if calls[k] != n {
			t.Errorf("f(%q) ran %d times, want %d", k, calls[k], n)
		}
	}
	var zero Map[string, string]
	zero.Get("a", f)
	zero.Get("a", f)
	if calls["a"] != 3 {
		t.Errorf("the zero Map kept an answer: f(a) ran %d times in all, want 3", calls["a"])
	}
}
