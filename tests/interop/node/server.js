'use strict';
// A Node.js (@grpc/grpc-js) server of the route-guide contract, for protoforge's interop tests:
//
//   node server.js PROTO_ROOT GOOGLEAPIS_ROOT
//
// Binds 127.0.0.1:0, prints {"port": N} on one line of stdout and serves until its stdin is
// closed (so it never outlives the test that started it). It behaves exactly like
// tests/interop/py_server.py; the behaviour is described in docs/interop.md.

const { grpc, loadContract, loadStatusTypes, encodeStatusDetails, STATUS_DETAILS } = require('./common');

const ECHO = 'x-interop-echo';
const ECHO_BIN = 'x-interop-bin';

// [suffix, initial metadata or null, trailing metadata] for the request's echo headers.
function echoMetadata(call) {
  const [value] = call.metadata.get(ECHO);
  const [binary] = call.metadata.get(ECHO_BIN);
  const trailing = new grpc.Metadata();
  let initial = null;
  if (value !== undefined) {
    initial = new grpc.Metadata();
    initial.set('x-echo-initial', value);
    trailing.set('x-echo-trailing', value);
  }
  if (binary !== undefined) trailing.set('x-echo-bin', binary);
  return [value === undefined ? '' : `:${value}`, initial, trailing];
}

function sendInitial(call, initial) {
  if (initial) call.sendMetadata(initial);
}

function summary(points) {
  return {
    point_count: points.length,
    feature_count: points.filter((p) => p.longitude !== 0).length,
    distance: points.reduce((sum, p) => sum + p.latitude, 0),
    finished_at: { seconds: 1700000000 + points.length, nanos: 0 },
  };
}

let statusTypes = null; // google.rpc types, loaded in main()

// The error details of a failed GetFeature, as tests/interop/py_server.py sends them.
function errorDetails(point, message) {
  return [
    ['google.rpc.BadRequest', { field_violations: [{ field: 'latitude', description: message }] }],
    [
      'google.rpc.ErrorInfo',
      { reason: 'NO_FEATURE', domain: 'routeguide.interop', metadata: { latitude: String(point.latitude) } },
    ],
  ];
}

const routeGuide = {
  GetFeature(call, callback) {
    const point = call.request;
    const [suffix, initial, trailing] = echoMetadata(call);
    sendInitial(call, initial);
    if (point.latitude < 0) {
      const message = `no feature at ${point.latitude},${point.longitude}`;
      const metadata = new grpc.Metadata();
      metadata.set('x-reason', 'interop');
      metadata.set(
        STATUS_DETAILS,
        encodeStatusDetails(statusTypes, -point.latitude, message, errorDetails(point, message)),
      );
      callback({ code: -point.latitude, details: message, metadata });
      return;
    }
    const reply = () => callback(null, { name: `f${point.latitude}${suffix}`, location: point }, trailing);
    if (point.latitude === 999) {
      const timer = setTimeout(reply, point.longitude);
      call.on('cancelled', () => clearTimeout(timer));
    } else {
      reply();
    }
  },

  ListFeatures(call) {
    // An unset message field arrives as null (proto-loader with defaults: true).
    const origin = { latitude: 0, longitude: 0 };
    const lo = call.request.lo || origin;
    const hi = call.request.hi || origin;
    const [, initial, trailing] = echoMetadata(call);
    sendInitial(call, initial);
    for (let latitude = lo.latitude; latitude < hi.latitude; latitude++) {
      call.write({ name: `f${latitude}`, location: { latitude, longitude: lo.longitude } });
    }
    call.end(trailing);
  },

  RecordRoute(call, callback) {
    const [, initial, trailing] = echoMetadata(call);
    sendInitial(call, initial);
    const points = [];
    call.on('data', (point) => points.push(point));
    call.on('end', () => callback(null, summary(points), trailing));
  },

  RouteChat(call) {
    const [suffix, initial, trailing] = echoMetadata(call);
    sendInitial(call, initial);
    call.on('data', (note) => {
      call.write({ location: note.location, message: note.message.toUpperCase() + suffix });
    });
    call.on('end', () => call.end(trailing));
  },

  Ping(call, callback) {
    callback(null, {});
  },

  GetFeatureLegacy(call, callback) {
    callback(null, { name: 'legacy' });
  },
};

const admin = {
  GetTags(call, callback) {
    callback(null, { names: ['interop', `tag${call.request.latitude}`] });
  },
};

function main() {
  const api = loadContract(process.argv[2]);
  statusTypes = loadStatusTypes(process.argv[3]);
  const server = new grpc.Server();
  server.addService(api.RouteGuide.service, routeGuide);
  server.addService(api.Admin.service, admin);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`cannot bind: ${error.message}\n`);
      process.exit(2);
    }
    process.stdout.write(JSON.stringify({ port }) + '\n');
  });
  const stop = () => {
    setTimeout(() => server.forceShutdown(), 1000).unref();
    server.tryShutdown(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main();
