package harness

import "testing"

func TestResultRefusal(t *testing.T) {
	ok := Reply{Code: 250}
	tests := []struct {
		name string
		res  Result
		want int
	}{
		{"all accepted", Result{Greeting: Reply{Code: 220}, Ehlo: ok, Mail: ok, Rcpts: []Reply{ok, ok}, Data: ok}, 0},
		{"greeting", Result{Greeting: Reply{Code: 421}}, 421},
		{"MAIL", Result{Greeting: Reply{Code: 220}, Ehlo: ok, Mail: Reply{Code: 550}}, 550},
		{"second RCPT before DATA", Result{Greeting: Reply{Code: 220}, Ehlo: ok, Mail: ok, Rcpts: []Reply{ok, {Code: 451}}, Data: Reply{Code: 554}}, 451},
		{"DATA", Result{Greeting: Reply{Code: 220}, Ehlo: ok, Mail: ok, Rcpts: []Reply{ok}, Data: Reply{Code: 452}}, 452},
		{"not sent", Result{}, 0},
	}
	for _, tt := range tests {
		if got := tt.res.Refusal().Code; got != tt.want {
			t.Errorf("%s: Refusal().Code = %d, want %d", tt.name, got, tt.want)
		}
	}
}
