// Package logging prints venvpkg's progress lines, warnings and progress
// bars at the verbosity the user chose.
package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Level is how much a Logger prints.
type Level int

// Levels, from silent to chatty.
const (
	LevelQuiet Level = iota // errors only (printed by the caller)
	LevelWarn               // warnings
	LevelInfo               // one line per stage
	LevelDebug              // every artifact and subprocess output
)

// Logger prints progress lines; safe for concurrent use.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	level Level
}

// NewLogger returns a Logger writing lines at or below level to w.
func NewLogger(w io.Writer, level Level) *Logger { return &Logger{w: w, level: level} }

func (l *Logger) printf(level Level, prefix, format string, args ...any) {
	if l == nil || l.level < level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, prefix+format+"\n", args...)
}

// Warnf prints a warning.
func (l *Logger) Warnf(format string, args ...any) { l.printf(LevelWarn, "warning: ", format, args...) }

// Infof prints a stage line.
func (l *Logger) Infof(format string, args ...any) { l.printf(LevelInfo, "", format, args...) }

// Debugf prints a detail line.
func (l *Logger) Debugf(format string, args ...any) { l.printf(LevelDebug, "  ", format, args...) }

// Printf prints a line whatever the level: test hooks that a caller
// waits for.
func (l *Logger) Printf(format string, args ...any) { l.printf(LevelQuiet, "", format, args...) }

// Verbose is the writer subprocess output goes to at -v, or nil below it.
func (l *Logger) Verbose() io.Writer {
	if l == nil || l.level < LevelDebug {
		return nil
	}
	return l.w
}

// Terminal is the terminal stage lines go to when a progress display
// belongs there: at the default level on a terminal, not with -q, -v or
// when the output is a pipe or a CI log.
func (l *Logger) Terminal() (*os.File, bool) {
	if l == nil || l.level < LevelInfo || l.level >= LevelDebug {
		return nil, false
	}
	f, ok := l.w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// Progress counts finished items of one long stage.
type Progress interface {
	Add(n int)
	Done()
}

type noProgress struct{}

func (noProgress) Add(int) {}
func (noProgress) Done()   {}

type barProgress struct{ bar *progressbar.ProgressBar }

func (p barProgress) Add(n int) { _ = p.bar.Add(n) }
func (p barProgress) Done()     { _ = p.bar.Finish() }

// Spinner shows a stage of unknown length on a terminal: its description and the time it has taken so far,
// cleared when Done. Elsewhere (pipes, CI logs, -q, -v) it shows nothing.
func (l *Logger) Spinner(desc string) Progress {
	f := l.terminal()
	if f == nil {
		return noProgress{}
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	stop := make(chan struct{})
	go func() { // keep the elapsed time moving while the stage gives no counts
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = bar.Add(1) // a spinner of unknown total only advances its frame
			}
		}
	}()
	return &spinner{barProgress{bar}, stop, sync.Once{}}
}

type spinner struct {
	barProgress
	stop chan struct{}
	once sync.Once
}

func (s *spinner) Done() {
	s.once.Do(func() {
		close(s.stop)
		s.barProgress.Done()
	})
}

// terminal returns the logger's output when it is a terminal and stage lines are printed without details.
func (l *Logger) terminal() *os.File {
	f, _ := l.Terminal()
	return f
}

// Progress returns a progress bar for total items when the logger writes
// stage lines to a terminal, and a no-op otherwise (pipes, CI logs, -q).
func (l *Logger) Progress(total int, desc string) Progress {
	f := l.terminal()
	if f == nil || total < 2 {
		return noProgress{}
	}
	return barProgress{progressbar.NewOptions(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
	)}
}
