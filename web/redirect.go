package web

import (
	"net/url"
	"strings"
)

// safeNext keeps a redirect target (the ?next= of the sign-in and language pages) on this
// site: a path of this origin, or "/" when raw is anything else. It judges the target as a
// browser will read it: browsers drop tabs and line breaks anywhere in a URL, trim control
// characters and spaces at its ends, and read "\" as "/", so "/\t/evil.example" and
// "/\evil.example" both lead to another host. A target that is another host once
// percent-decoded is refused too.
func safeNext(raw string) string {
	next := browserClean(raw)
	if !localPath(next) {
		return "/"
	}
	decoded, err := url.PathUnescape(next)
	if err != nil || !localPath(dropTabs(decoded)) {
		return "/"
	}
	return next
}

// browserClean is what a browser's URL parser removes before it reads a URL: ASCII tab, CR and
// LF anywhere; C0 controls and spaces at either end.
func browserClean(s string) string {
	return strings.TrimFunc(dropTabs(s), func(r rune) bool { return r <= ' ' })
}

// dropTabs removes ASCII tab, CR and LF.
func dropTabs(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// localPath reports whether s is an absolute path of this origin: one "/" first, not
// followed by another "/" or "\" (which would name a host), no backslash, no control
// character, no scheme.
func localPath(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}
