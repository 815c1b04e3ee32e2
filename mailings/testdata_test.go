package mailings_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// readTSV returns the rows of a tab-separated test-vector file as maps from its header's
// column names, with the line number for messages.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read test vectors: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for i, line := range lines[1:] {
		cells := strings.Split(line, "\t")
		if len(cells) != len(header) {
			t.Fatalf("%s:%d: %d cells, header has %d", path, i+2, len(cells), len(header))
		}
		row := map[string]string{"line": path + ":" + strconv.Itoa(i+2)}
		for j, h := range header {
			row[h] = cells[j]
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no rows", path)
	}
	return rows
}
