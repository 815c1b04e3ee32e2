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
	// The common cases of Acquire and Done, alone: a few commands and little Lua, since Redis
	// runs them for every send; they answer "slow" for the full scripts to decide the rest.
	acquireFastScript = redis.NewScript(mustRead("lua/acquire_fast.lua"))
	doneFastScript    = redis.NewScript(mustRead("lua/done_fast.lua"))
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
