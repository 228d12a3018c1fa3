package main

import "testing"

func TestCheckWaves(t *testing.T) {
	t.Run("summary", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/waves/edgerewrite.toml")
		expect(t, code, out, errOut, exitOK,
			"cutover lists testdata/waves/rules: 2 entries in 1 file",
			"wave-07.cutover                          2 (hold 1, defer 1), 0 active now, next start 2030-11-23T20:00:00Z, next end 2030-11-24T06:00:00Z",
			"edgerewrite check: OK")
	})
	t.Run("bad line and overlap", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/badwaves/edgerewrite.toml")
		expect(t, code, out, errOut, exitProblem,
			`testdata/badwaves/rules/wave-08.cutover:3: action "hodl" is not "defer" or "hold"`,
			"edgerewrite check: 1 problem")
	})
}

func TestTestShowsWaveEntry(t *testing.T) {
	base := []string{"test", "-c", "testdata/waves/edgerewrite.toml", "--client-addr", "203.0.113.5",
		"--from", "alice@example.net", "--now", "2030-11-23T21:00:00Z"}
	code, out, errOut := edgerewrite(t, append(base, "--rcpt", "John+news@contoso.com")...)
	expect(t, code, out, errOut, exitRefused,
		"message:    hold (cutover-hold: john@contoso.com) by the wave entry wave-07.cutover:3",
		"RCPT TO   <John+news@contoso.com>  (unchanged)",
		"SMFIR_ADDHEADER X-Edgerewrite-Hold: wave-07.cutover:3 (cutover-hold: john@contoso.com)",
		"result:     held in Postfix's hold queue (exit 2)")
	code, out, errOut = edgerewrite(t, append(base, "--rcpt", "mary@contoso.com")...)
	expect(t, code, out, errOut, exitRefused,
		"tempfail 451 4.7.1 Mailbox moving tonight; please try again later (cutover-defer: mary@contoso.com) by the wave entry wave-07.cutover:4")
	base[len(base)-1] = "2030-11-24T06:00:00Z"
	code, out, errOut = edgerewrite(t, append(base, "--rcpt", "john@contoso.com")...)
	expect(t, code, out, errOut, exitOK, "-> <john@tenanta.contoso.com>", "result:     accepted")
}

func TestRulesListsWaves(t *testing.T) {
	code, out, errOut := edgerewrite(t, "rules", "-c", "testdata/waves/edgerewrite.toml")
	expect(t, code, out, errOut, exitOK,
		"contoso.rules:2",
		"cutover lists testdata/waves/rules: 2 entries in 1 file",
		"wave-07.cutover                          2 (hold 1, defer 1), 0 active now")
	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/badwaves/edgerewrite.toml")
	expect(t, code, out, errOut, exitOK, `warning: testdata/badwaves/rules/wave-08.cutover:3: action "hodl"`)
}
