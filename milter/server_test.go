package milter

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	gomilter "github.com/emersion/go-milter"
)

// drainEnv is a Server whose Shutdown the test calls itself.
func drainEnv(t *testing.T) (*testEnv, chan error) {
	t.Helper()
	pol := loadTestPolicy(t, "testdata/session/policy.toml", false)
	env := &testEnv{sock: filepath.Join(t.TempDir(), "milter.sock"), logs: &logBuffer{}}
	gen := &decide.Generation{Policy: pol}
	env.srv = NewServer(ServerOptions{Generation: func() *decide.Generation { return gen }})
	l, err := net.Listen("unix", env.sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- env.srv.Serve(l) }()
	return env, served
}

func waitServed(t *testing.T, served chan error) {
	t.Helper()
	select {
	case err := <-served:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func TestServer_ShutdownClosesIdleConnectionsAtOnce(t *testing.T) {
	env, served := drainEnv(t)
	c := env.open(t, "203.0.113.5", internet...)
	if n := env.srv.Active(); n != 1 {
		t.Fatalf("Active = %d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v for an idle connection", d)
	}
	waitServed(t, served)
	if _, err := c.s.Mail("late@example.net", nil); err == nil {
		t.Error("MAIL on a drained connection succeeded")
	}
	if _, err := net.Dial("unix", env.sock); err == nil {
		t.Error("the listener still accepts after Shutdown")
	}
	if err := env.srv.Serve(&net.UnixListener{}); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestServer_ShutdownLetsTheMessageInFlightFinish(t *testing.T) {
	env, served := drainEnv(t)
	c := env.open(t, "203.0.113.5", internet...)
	if _, err := c.s.Mail("sender@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Rcpt("bob@contoso.com", nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- env.srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a message in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := c.s.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	_, act, err := c.s.End()
	if err != nil || act.Code != gomilter.ActAccept {
		t.Fatalf("end of message while draining: %v, %v", act, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the message finished")
	}
	waitServed(t, served)
	if n := env.srv.Active(); n != 0 {
		t.Errorf("Active = %d after Shutdown", n)
	}
}

func TestServer_ShutdownDeadlineClosesWhatIsLeft(t *testing.T) {
	env, served := drainEnv(t)
	c := env.open(t, "203.0.113.5", internet...)
	if _, err := c.s.Mail("sender@example.net", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := env.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	waitServed(t, served)
	if _, err := c.s.Rcpt("bob@contoso.com", nil); err == nil {
		t.Error("the connection survived the Shutdown deadline")
	}
}

func TestServer_SessionsActiveMetric(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	c := env.open(t, "203.0.113.5", internet...)
	if got := metricValue(t, env, "edgerewrite_sessions_active"); got != 1 {
		t.Errorf("sessions_active = %v with one connection, want 1", got)
	}
	c.s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, env, "edgerewrite_sessions_active") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("sessions_active stayed above 0 after the connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
