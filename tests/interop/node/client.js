'use strict';
// A Node.js (@grpc/grpc-js) client of the route-guide contract, for protoforge's interop tests:
//
//   node client.js 127.0.0.1:PORT PROTO_ROOT GOOGLEAPIS_ROOT
//
// Calls every scenario against the server at the target and prints one JSON object on stdout:
// {scenario: {response(s), error: {code, details, metadata, status}, initial, trailing}}, where
// `status` is the decoded google.rpc.Status of the grpc-status-details-bin trailer (or null). A scenario that
// throws is reported as {"crash": "..."} so the pytest side shows which one broke.
// The expected server behaviour is described in docs/interop.md.

const { grpc, loadContract, metadataToJson, loadStatusTypes, statusDetailsToJson } = require('./common');

let statusTypes = null; // google.rpc types, loaded in main()

function options(deadlineMs) {
  return deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + deadlineMs) };
}

function makeMetadata(pairs) {
  const metadata = new grpc.Metadata();
  for (const [key, value] of pairs || []) metadata.add(key, value);
  return metadata;
}

// Collects initial metadata and the final status of any call, then resolves with `extra()`.
function track(call, extra) {
  const result = { initial: null, trailing: null, error: null };
  call.on('metadata', (metadata) => {
    result.initial = metadataToJson(metadata);
  });
  return new Promise((resolve) => {
    let status = null;
    let done = false;
    const finish = () => {
      if (status !== null && done) resolve({ ...result, ...extra() });
    };
    call.on('status', (s) => {
      status = s;
      result.trailing = metadataToJson(s.metadata);
      if (s.code !== grpc.status.OK) {
        result.error = {
          code: s.code,
          details: s.details,
          metadata: metadataToJson(s.metadata),
          status: statusDetailsToJson(statusTypes, s.metadata),
        };
      }
      finish();
    });
    call.markDone = () => {
      done = true;
      finish();
    };
  });
}

function unary(client, method, request, { metadata, deadlineMs } = {}) {
  let response = null;
  let call;
  const promise = new Promise((resolve) => {
    call = client[method](request, makeMetadata(metadata), options(deadlineMs), (err, res) => {
      response = err ? null : res;
      call.markDone();
    });
    track(call, () => ({ response })).then(resolve);
  });
  return promise;
}

function serverStream(client, method, request, { metadata, deadlineMs } = {}) {
  const responses = [];
  const call = client[method](request, makeMetadata(metadata), options(deadlineMs));
  const promise = track(call, () => ({ responses }));
  call.on('data', (r) => responses.push(r));
  call.on('error', () => call.markDone());
  call.on('end', () => call.markDone());
  return promise;
}

function clientStream(client, method, requests, { metadata, deadlineMs } = {}) {
  let response = null;
  let call;
  const promise = new Promise((resolve) => {
    call = client[method](makeMetadata(metadata), options(deadlineMs), (err, res) => {
      response = err ? null : res;
      call.markDone();
    });
    track(call, () => ({ response })).then(resolve);
  });
  for (const r of requests) call.write(r);
  call.end();
  return promise;
}

function bidi(client, method, requests, { metadata, deadlineMs } = {}) {
  const responses = [];
  const call = client[method](makeMetadata(metadata), options(deadlineMs));
  const promise = track(call, () => ({ responses }));
  call.on('data', (r) => responses.push(r));
  call.on('error', () => call.markDone());
  call.on('end', () => call.markDone());
  for (const r of requests) call.write(r);
  call.end();
  return promise;
}

async function main() {
  const [target, protoRoot, googleapisRoot] = process.argv.slice(2);
  const api = loadContract(protoRoot);
  statusTypes = loadStatusTypes(googleapisRoot);
  const credentials = grpc.credentials.createInsecure();
  const routeGuide = new api.RouteGuide(target, credentials);
  const admin = new api.Admin(target, credentials);
  const echo = [['x-interop-echo', 'from-node']];
  const echoBin = [...echo, ['x-interop-bin', Buffer.from([0, 1, 2, 254, 255])]];

  const scenarios = {
    unary: () => unary(routeGuide, 'GetFeature', { latitude: 1, longitude: 2 }),
    server_streaming: () =>
      serverStream(routeGuide, 'ListFeatures', {
        lo: { latitude: 3, longitude: 7 },
        hi: { latitude: 6, longitude: 0 },
      }),
    client_streaming: () =>
      clientStream(routeGuide, 'RecordRoute', [
        { latitude: 1, longitude: 0 },
        { latitude: 2, longitude: 5 },
        { latitude: 3, longitude: 5 },
      ]),
    bidi_streaming: () =>
      bidi(routeGuide, 'RouteChat', [
        { location: { latitude: 1, longitude: 1 }, message: 'a' },
        { location: { latitude: 2, longitude: 2 }, message: 'b' },
      ]),
    well_known_type: () => unary(routeGuide, 'Ping', {}),
    nested_type_second_service: () => unary(admin, 'GetTags', { latitude: 4, longitude: 0 }),
    deadline: () =>
      unary(routeGuide, 'GetFeature', { latitude: 999, longitude: 3000 }, { deadlineMs: 200 }),
    error: () => unary(routeGuide, 'GetFeature', { latitude: -5, longitude: 42 }),
    metadata_unary: () =>
      unary(routeGuide, 'GetFeature', { latitude: 8, longitude: 0 }, { metadata: echoBin }),
    metadata_server_streaming: () =>
      serverStream(
        routeGuide,
        'ListFeatures',
        { lo: { latitude: 1, longitude: 0 }, hi: { latitude: 3, longitude: 0 } },
        { metadata: echo },
      ),
    metadata_client_streaming: () =>
      clientStream(routeGuide, 'RecordRoute', [{ latitude: 1, longitude: 1 }], {
        metadata: echo,
      }),
    metadata_bidi_streaming: () =>
      bidi(routeGuide, 'RouteChat', [{ message: 'x' }], { metadata: echo }),
  };

  const results = {};
  for (const [name, run] of Object.entries(scenarios)) {
    try {
      results[name] = await run();
    } catch (error) {
      results[name] = { crash: String(error && error.stack ? error.stack : error) };
    }
  }
  routeGuide.close();
  admin.close();
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
  process.exit(1);
});
