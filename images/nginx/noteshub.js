// Chooses the colour of every request from the traffic state the program writes (issue #6: zero dropped requests).
// The state file is replaced atomically (written next to it, then renamed), so a colour switch or a weight change is
// live for the next request with no reload: no keep-alive connection is closed and no request is dropped.
// njs runs each request in a fresh VM, so the file is read per request; it is tiny and stays in the page cache.
// It lives in a volume the balancer's holder owns, so every nginx instance (old and new, during a handover) reads
// the same state.
var fs = require('fs');
var STATE = '/var/lib/noteshub/state/state.json';
var DRAINING = '/tmp/nginx/draining';
var COOKIE = 'noteshub_color';

function readState(r) {
    try {
        var s = JSON.parse(fs.readFileSync(STATE, 'utf8'));
        if (s && s.weights) return s;
        r.error('noteshub: ' + STATE + ' has no weights; answering 502');
    } catch (e) {
        r.error('noteshub: cannot read ' + STATE + ' (' + e.message + '); answering 502');
    }
    return null;
}

// FNV-1a of the request id, 0..99: the same request always gets the same colour, however often nginx asks.
function bucket(id) {
    var h = 2166136261;
    for (var i = 0; i < id.length; i++) {
        h ^= id.charCodeAt(i);
        h = Math.imul(h, 16777619) >>> 0;
    }
    return h % 100;
}

// $noteshub_color: a client that has a colour (cookie) keeps it while that colour gets a share, so a user does not
// bounce between versions during a gradual shift; everyone else is split by weight. Sets $noteshub_cookie during
// a shift only.
function color(r) {
    var s = readState(r);
    if (!s) return 'none'; // upstream noteshub_none: a 502, never a guessed colour
    var w = s.weights;
    if (!((w.blue || 0) > 0) && !((w.green || 0) > 0)) return 'none'; // no colour has a share: nowhere, not a guess
    var shifting = (w.blue || 0) > 0 && (w.green || 0) > 0;
    var sticky = r.variables['cookie_' + COOKIE];
    var c = sticky && w[sticky] > 0 ? sticky : bucket(r.variables.request_id) < (w.blue || 0) ? 'blue' : 'green';
    r.variables.noteshub_cookie = shifting && c !== sticky ? COOKIE + '=' + c + '; Path=/; HttpOnly; SameSite=Lax' : '';
    return c;
}

// $noteshub_draining: "1" once this instance is being replaced (images/nginx/drain.sh): its answers then close the
// connection, so clients move to the new instance between requests instead of having an idle connection cut.
function draining(r) {
    try {
        fs.accessSync(DRAINING);
        return '1';
    } catch (e) {
        return '';
    }
}

// GET /lb/route: the colour this request would go to, chosen as a user's request is (the readiness check runs it).
function route(r) {
    var c = color(r);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(c === 'none' ? 502 : 200, JSON.stringify({ color: c }) + '\n');
}

// GET /lb/status: the state the balancer routes by.
function status(r) {
    var s = readState(r);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(s ? 200 : 503, JSON.stringify(s || { error: 'no traffic state: ' + STATE }) + '\n');
}

export default { color, draining, route, status };
