package build

import (
	"fmt"
	"io"
	"sync"
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
