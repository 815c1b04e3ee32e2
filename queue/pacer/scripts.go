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
	// rebuildScript runs alone: it puts back a lost sender's keys, and plans nothing.
	rebuildScript = redis.NewScript(mustRead("lua/rebuild.lua"))
)

func mustRead(name string) string {
	b, err := luaFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return string(b)
}

func newScript(name string) *redis.Script {
	return redis.NewScript(mustRead("lua/common.lua") + "\n" + mustRead("lua/"+name+".lua"))
}
