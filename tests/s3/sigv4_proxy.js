// sigv4_proxy: an HTTP proxy for tests that checks AWS Signature V4 as S3 does, then passes
// the request on to an S3 server that does not (s3rver). The expected signature is computed
// by AWS's own signer (@smithy/signature-v4, the AWS SDK's), from the headers the request
// says it signed and its x-amz-date; the payload hash header must equal the body's SHA-256.
// A request that fails gets S3's 403 answer (SignatureDoesNotMatch, InvalidAccessKeyId,
// XAmzContentSHA256Mismatch, AccessDenied) and is not passed on.
//   node sigv4_proxy.js LISTEN_PORT UPSTREAM_PORT REGION ACCESS_KEY SECRET
// Prints "ready" once listening; one line per refused request on stderr. Test tool only.
'use strict';
const http = require('http');
const crypto = require('crypto');
const path = require('path');
const mods = process.env.RB_SIGV4_MODULES || path.join(__dirname, 'node_modules');
const { SignatureV4 } = require(path.join(mods, '@smithy/signature-v4'));
const { Sha256 } = require(path.join(mods, '@aws-crypto/sha256-js'));

const [listenPort, upstreamPort, region, accessKey, secret] = process.argv.slice(2);
if (!secret) {
	console.error('usage: node sigv4_proxy.js LISTEN_PORT UPSTREAM_PORT REGION ACCESS_KEY SECRET');
	process.exit(2);
}
const signer = new SignatureV4({
	credentials: { accessKeyId: accessKey, secretAccessKey: secret },
	region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false,
});

// S3's answer carries a short message; the detail (both signatures) goes to stderr.
function refuse(res, code, msg) {
	console.error(`sigv4_proxy: 403 ${code}: ${msg}`);
	const short = code === 'SignatureDoesNotMatch'
		? 'The request signature we calculated does not match the signature you provided.'
		: msg;
	res.writeHead(403, { 'Content-Type': 'application/xml' });
	res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
		`<Message>${short}</Message></Error>`);
}

// "20130524T000000Z" -> Date
function amzDate(s) {
	const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
	return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

async function check(req, body) {
	const auth = req.headers.authorization || '';
	const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
	if (!m)
		return ['AccessDenied', `no Signature V4 Authorization header: '${auth}'`];
	if (m[1] !== accessKey)
		return ['InvalidAccessKeyId', `unknown access key ${m[1]}`];
	if (m[3] !== region)
		return ['AuthorizationHeaderMalformed', `region ${m[3]}, expected ${region}`];
	const date = amzDate(req.headers['x-amz-date']);
	if (!date)
		return ['AccessDenied', 'no x-amz-date'];
	const payload = req.headers['x-amz-content-sha256'];
	if (!payload)
		return ['InvalidRequest', 'no x-amz-content-sha256'];
	if (payload !== 'UNSIGNED-PAYLOAD' &&
	    payload !== crypto.createHash('sha256').update(body).digest('hex'))
		return ['XAmzContentSHA256Mismatch', 'x-amz-content-sha256 is not the body\'s SHA-256'];
	const signed = m[4].split(';');
	if (!signed.includes('host') || !signed.includes('x-amz-date'))
		return ['AccessDenied', `SignedHeaders ${m[4]} lacks host or x-amz-date`];
	const headers = {};
	for (const h of signed) {
		if (req.headers[h] === undefined)
			return ['AccessDenied', `signed header ${h} not sent`];
		headers[h] = String(req.headers[h]);
	}
	const u = new URL(req.url, 'http://' + req.headers.host);
	const query = {};
	for (const [k, v] of u.searchParams) query[k] = v;
	const want = await signer.sign({
		method: req.method, protocol: 'http:', hostname: u.hostname, port: u.port,
		path: req.url.split('?')[0], query, headers, body,
	}, { signingDate: date, signableHeaders: new Set(signed) });
	const expected = want.headers.authorization || want.headers.Authorization;
	if (expected !== auth)
		return ['SignatureDoesNotMatch', `got '${auth}', expected '${expected}'`];
	return null;
}

http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', async () => {
		const body = Buffer.concat(chunks);
		let bad;
		try {
			bad = await check(req, body);
		} catch (e) {
			bad = ['AccessDenied', 'signer: ' + e.message];
		}
		if (bad)
			return refuse(res, bad[0], bad[1]);
		const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method,
			path: req.url, headers: req.headers }, (ur) => {
			res.writeHead(ur.statusCode, ur.headers);
			ur.pipe(res);
		});
		up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
		up.end(body);
	});
}).listen(+listenPort, '127.0.0.1', () => console.log('ready'));
