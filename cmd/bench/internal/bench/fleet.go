package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// fleet is a set of worker processes: real OS processes, each with its own Redis pool and
// Asynq server, started by re-executing this binary with WorkerEnv set.
type fleet struct {
	procs []*child
}

type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startFleet(ctx context.Context, n int, cfg workerConfig) (*fleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the bench binary: %w", err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	f := &fleet{}
	for range n {
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(), WorkerEnv+"="+string(raw))
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			f.kill()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			f.kill()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			f.kill()
			return nil, fmt.Errorf("start a worker process: %w", err)
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		f.procs = append(f.procs, &child{cmd: cmd, in: in, lines: sc})
	}
	for _, c := range f.procs {
		l, err := c.read()
		if err != nil || !l.Ready {
			f.kill()
			return nil, fmt.Errorf("worker process %d did not start: %v", c.cmd.Process.Pid, err)
		}
	}
	return f, nil
}

func (c *child) read() (workerLine, error) {
	if !c.lines.Scan() {
		if err := c.lines.Err(); err != nil {
			return workerLine{}, err
		}
		return workerLine{}, io.ErrUnexpectedEOF
	}
	var l workerLine
	err := json.Unmarshal(c.lines.Bytes(), &l)
	return l, err
}

// commands sums the Redis commands the workers have sent so far.
func (f *fleet) commands() (int64, error) {
	var sum int64
	for _, c := range f.procs {
		if _, err := io.WriteString(c.in, "count\n"); err != nil {
			return 0, err
		}
		l, err := c.read()
		if err != nil {
			return 0, err
		}
		sum += l.Cmds
	}
	return sum, nil
}

// stop asks every worker to shut down gracefully and returns their recorded events.
func (f *fleet) stop() ([]event, error) {
	var (
		all  []event
		errs []error
	)
	for _, c := range f.procs {
		_, _ = io.WriteString(c.in, "stop\n")
	}
	for _, c := range f.procs {
		for {
			l, err := c.read()
			if err != nil {
				errs = append(errs, fmt.Errorf("worker %d: %w", c.cmd.Process.Pid, err))
				break
			}
			if l.Final {
				all = append(all, l.Events...)
				if l.Err != "" {
					errs = append(errs, fmt.Errorf("worker %d: %s", c.cmd.Process.Pid, l.Err))
				}
				break
			}
		}
		_ = c.in.Close()
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("worker %d: %w", c.cmd.Process.Pid, err))
			}
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
			errs = append(errs, fmt.Errorf("worker %d did not stop; killed", c.cmd.Process.Pid))
		}
	}
	return all, errors.Join(errs...)
}

// kill ends the processes started so far (only ever ours, by pid).
func (f *fleet) kill() {
	for _, c := range f.procs {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// cpu is the CPU time (user and system) the stopped processes used in all.
func (f *fleet) cpu() time.Duration {
	var sum time.Duration
	for _, c := range f.procs {
		if st := c.cmd.ProcessState; st != nil {
			sum += st.UserTime() + st.SystemTime()
		}
	}
	return sum
}
