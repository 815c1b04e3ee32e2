package email

import (
	"html"
	"regexp"
	"strings"
)

// HTMLFromText turns a message's plain text (its placeholders already filled in) into a small
// HTML document with the same content: everything escaped, blank lines between paragraphs,
// single line breaks kept, and http(s) addresses made into links. Nothing in the text can add
// markup, so a guest's name or a template cannot inject HTML.
func HTMLFromText(text string) string {
	text = strings.TrimSpace(normaliseNewlines(text))
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body>\n")
	for _, para := range paragraphs.Split(text, -1) {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			writeLinked(&b, line)
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// paragraphs separates paragraphs: a line break, any blank lines (spaces allowed), another.
var paragraphs = regexp.MustCompile(`\n[ \t]*\n\s*`)

// link finds web addresses in text; the trailing punctuation of a sentence is cut off after.
var link = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"']+`)

// writeLinked writes line escaped, with its web addresses as links.
func writeLinked(b *strings.Builder, line string) {
	for {
		loc := link.FindStringIndex(line)
		if loc == nil {
			b.WriteString(html.EscapeString(line))
			return
		}
		u := trimURL(line[loc[0]:loc[1]])
		b.WriteString(html.EscapeString(line[:loc[0]]))
		esc := html.EscapeString(u)
		b.WriteString(`<a href="` + esc + `">` + esc + `</a>`)
		line = line[loc[0]+len(u):]
	}
}

// trimURL cuts the punctuation that ends a sentence off a web address, and a closing
// parenthesis that has no opening one inside it ("(see https://x.example/a)").
func trimURL(u string) string {
	for len(u) > 0 {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}
