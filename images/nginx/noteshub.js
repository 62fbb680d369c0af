// Chooses the colour of every request from the traffic state the program writes (issue #6: zero dropped requests).
// The state file is replaced atomically (written next to it, then renamed), so a colour switch or a weight change is
// live for the next request with no reload: no keep-alive connection is closed and no request is dropped.
// njs runs each request in a fresh VM, so the file is read per request; it is tiny and stays in the page cache.
// It lives in a volume the balancer's holder owns, so every nginx instance (old and new, during a handover) reads
// the same state.
var fs = require('fs');
var crypto = require('crypto');
var STATE = '/var/lib/noteshub/state/state.json';
var DRAINING = '/tmp/nginx/draining';
var COOKIE = 'noteshub_color';
var PREVIEW_HEADER = 'X-NotesHub-Preview';

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

// $noteshub_color: a preview's colour (below); else "maintenance" while the state says so (the routes send the
// request to maintenance()); else the colour chosen for it.
function color(r) {
    var s = readState(r);
    if (!s) return 'none'; // upstream noteshub_none: a 502, never a guessed colour
    return previewed(r, s) || (s.maintenance ? 'maintenance' : choose(r, s));
}

// A request carrying the preview token (loadBalancer.previewToken; the state holds its SHA-256) in the
// X-NotesHub-Preview header or the noteshub_preview cookie: "<token>" goes to the idle colour (during a shift, to the
// colour being promoted), "blue:<token>" or "green:<token>" to that colour, in maintenance mode too (QA behind it).
// Anything else is not a preview: the request is routed by the shares, as if it had no token.
function previewed(r, s) {
    if (!s.preview) return null;
    var value = r.headersIn[PREVIEW_HEADER] || r.variables.cookie_noteshub_preview;
    if (!value) return null;
    var named = /^(blue|green):(.*)$/.exec(value);
    var token = named ? named[2] : value;
    if (crypto.createHash('sha256').update(token).digest('hex') !== s.preview) return null;
    if (named) return named[1];
    return s.traffic === 100 ? (s.active === 'blue' ? 'green' : 'blue') : s.active;
}

// A client that has a colour (cookie) keeps it while that colour gets a share, so a user does not bounce between
// versions during a gradual shift; everyone else is split by weight. Sets $noteshub_cookie during a shift only.
function choose(r, s) {
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

// GET /lb/route: the colour this request would go to, chosen as a user's request is (the readiness check runs it,
// so a new instance is checked in maintenance mode too), and whether maintenance holds it back.
function route(r) {
    var s = readState(r);
    var c = s ? choose(r, s) : 'none';
    r.headersOut['Content-Type'] = 'application/json';
    r.return(c === 'none' ? 502 : 200, JSON.stringify({ color: c, maintenance: !!(s && s.maintenance) }) + '\n');
}

function escapeHtml(text) {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Maintenance mode (noteshub maintenance on): 503 with Retry-After and the operator's message, as JSON, or as a page
// for a browser. The state is read again: one that left maintenance meanwhile gets "retry now" (Retry-After 1).
function maintenance(r) {
    var s = readState(r);
    var m = s && s.maintenance;
    var message = m ? m.message : 'NotesHub is back: please retry.';
    var retry = m ? m.retryAfterSec : 1;
    r.headersOut['Retry-After'] = String(retry);
    r.headersOut['Cache-Control'] = 'no-store';
    if ((r.headersIn['Accept'] || '').indexOf('text/html') >= 0) {
        r.headersOut['Content-Type'] = 'text/html; charset=utf-8';
        r.return(503, '<!doctype html>\n<html><head><meta charset="utf-8"><title>NotesHub: maintenance</title></head>' +
            '<body><h1>NotesHub is down for maintenance</h1><p>' + escapeHtml(message) + '</p></body></html>\n');
        return;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(503, JSON.stringify({ error: 'maintenance', message: message, retryAfterSec: retry }) + '\n');
}

// GET /lb/status: the state the balancer routes by (whether a preview token is set, not its digest).
function status(r) {
    var s = readState(r);
    if (s && s.preview) s.preview = true;
    r.headersOut['Content-Type'] = 'application/json';
    r.return(s ? 200 : 503, JSON.stringify(s || { error: 'no traffic state: ' + STATE }) + '\n');
}

export default { color, draining, maintenance, route, status };
