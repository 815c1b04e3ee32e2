package pacer

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

// Every script is the common head followed by its body, so the helpers that decide slots
// and day caps exist once.
var (
	reserveScript = newScript("reserve")
	acquireScript = newScript("acquire")
	doneScript    = newScript("done")
	cancelScript  = newScript("cancel")
	backoffScript = newScript("backoff")
	stateScript   = newScript("state")
)

func newScript(name string) *redis.Script {
	head, err := luaFS.ReadFile("lua/common.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(head) + "\n" + string(body))
}
