package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// pacerSuite runs on a migrated database with properties "a" and "b": the pacer's memory of its
// senders, and the integration's pacer group.
func pacerSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()

	t.Run("senders", func(t *testing.T) {
		const s = "intellectdialog:api.example.com:42:1:a"
		if _, err := db.GetSenderPace(ctx, s); !bellhop.IsNotFound(err) {
			t.Fatalf("GetSenderPace before any write = %v, want not found", err)
		}
		// Each write keeps its own fields and leaves the others alone.
		if err := db.SetSenderSettings(ctx, s, `{"interval_us":120000000}`, at); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSenderPause(ctx, s, true, "blocked by the provider", at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		end := at.Add(time.Minute + 789) // below the microsecond: dropped
		if err := db.NoteSendEnd(ctx, s, end, at.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetSenderPace(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		want := bellhop.SenderPace{Sender: s, Settings: `{"interval_us":120000000}`, Paused: true, PauseReason: "blocked by the provider",
			LastSendEnd: at.Add(time.Minute).UTC(), UpdatedAt: at.Add(2 * time.Second).UTC()}
		if *got != want {
			t.Fatalf("GetSenderPace =\n %+v\nwant\n %+v", got, want)
		}

		// The last end only moves later; a resume clears the reason.
		if err := db.NoteSendEnd(ctx, s, at, at.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSenderPause(ctx, s, false, "ignored", at.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSenderSettings(ctx, s, "", at.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err = db.GetSenderPace(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		want.Settings, want.Paused, want.PauseReason, want.UpdatedAt = "", false, "", at.Add(5*time.Second).UTC()
		if *got != want {
			t.Fatalf("after an earlier end, a resume and default settings:\n %+v\nwant\n %+v", got, want)
		}

		// A sender first met by its send end has no settings and is not paused.
		const fresh = "intellectdialog:api.example.com:42:2:b"
		if err := db.NoteSendEnd(ctx, fresh, end, at); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetSenderPace(ctx, fresh); err != nil || got.Settings != "" || got.Paused || !got.LastSendEnd.Equal(at.Add(time.Minute)) {
			t.Fatalf("sender first met by its send end = %+v, %v", got, err)
		}
	})

	t.Run("send ends from many workers", func(t *testing.T) {
		// Workers record their sends' ends in any order: the latest wins.
		const s = "intellectdialog:api.example.com:42:3:a"
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := db.NoteSendEnd(ctx, s, at.Add(time.Duration(i)*time.Second), at); err != nil {
					t.Errorf("NoteSendEnd: %v", err)
				}
			})
		}
		wg.Wait()
		if got, err := db.GetSenderPace(ctx, s); err != nil || !got.LastSendEnd.Equal(at.Add(7*time.Second)) {
			t.Fatalf("after concurrent ends: %+v, %v; want the latest", got, err)
		}
	})

	t.Run("pacer group", func(t *testing.T) {
		in := &bellhop.Integration{PropertyID: "b", Provider: "intellectdialog", BaseURL: "https://api.example.com/v2/",
			Status: bellhop.StatusUnverified, PacerGroup: "riverside", CreatedAt: at, UpdatedAt: at}
		if err := db.SaveIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetIntegration(ctx, "b", "intellectdialog")
		if err != nil || got.PacerGroup != "riverside" {
			t.Fatalf("a new integration's group = %+v, %v", got, err)
		}
		if err := db.SetPacerGroup(ctx, "b", "intellectdialog", "harbour", at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// A save from an earlier read does not undo the group's own write.
		got.Status = bellhop.StatusVerified
		if err := db.SaveIntegration(ctx, got); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListIntegrations(ctx, "b")
		if err != nil || len(list) != 1 || list[0].PacerGroup != "harbour" || list[0].Status != bellhop.StatusVerified {
			t.Fatalf("ListIntegrations(b) = %+v, %v; want the group harbour kept", list, err)
		}
		if err := db.SetPacerGroup(ctx, "a", "nothing-here", "x", at); !bellhop.IsNotFound(err) {
			t.Errorf("SetPacerGroup of a missing integration = %v, want not found", err)
		}
	})
}
