'use strict';
// A Node.js Connect-ES client (@connectrpc/connect-node) of the route-guide contract, calling the
// generated Python server's web endpoint over HTTP/1.1 with both web protocols:
//
//   node web_client.js http://127.0.0.1:WEB_PORT SCHEMA.binpb
//
// SCHEMA.binpb is the FileDescriptorSet of `protoforge snapshot`: the client builds its service
// description from it at run time (no generated JavaScript). Prints one JSON object on stdout:
// {protocol: {scenario: {response(s), error: {code, message, details}, headers, trailers}}}.
// The server behaviour it expects is tests/interop/py_server.py's (docs/interop.md).

const fs = require('fs');
const { createFileRegistry, fromBinary, toJson } = require('@bufbuild/protobuf');
const { FileDescriptorSetSchema } = require('@bufbuild/protobuf/wkt');
const { createClient, ConnectError } = require('@connectrpc/connect');
const { createConnectTransport, createGrpcWebTransport } = require('@connectrpc/connect-node');

const [baseUrl, schemaPath] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(schemaPath)));
const service = registry.getService('routeguide.v1.RouteGuide');
const feature = registry.getMessage('routeguide.v1.Feature');

function headersJson(headers) {
  const result = {};
  headers.forEach((value, key) => {
    result[key] = value;
  });
  return result;
}

// Runs one call, collecting response headers and trailers and the error, if any.
async function scenario(call) {
  const result = { headers: null, trailers: null, error: null };
  const options = {
    headers: { 'x-interop-echo': 'web' },
    onHeader: (h) => {
      result.headers = headersJson(h);
    },
    onTrailer: (t) => {
      result.trailers = headersJson(t);
    },
  };
  try {
    Object.assign(result, await call(options));
  } catch (error) {
    const e = ConnectError.from(error);
    result.error = {
      code: e.code,
      message: e.rawMessage,
      details: e.details.map((d) => ({ type: d.desc ? d.desc.typeName : d.type })),
    };
  }
  return result;
}

async function run(transport) {
  const client = createClient(service, transport);
  return {
    unary: await scenario(async (options) => ({
      response: toJson(feature, await client.getFeature({ latitude: 5, longitude: 7 }, options)),
    })),
    server_stream: await scenario(async (options) => {
      const responses = [];
      const request = { lo: { latitude: 1, longitude: 3 }, hi: { latitude: 4, longitude: 9 } };
      for await (const item of client.listFeatures(request, options)) {
        responses.push(toJson(feature, item));
      }
      return { responses };
    }),
    error: await scenario(async (options) => ({
      response: await client.getFeature({ latitude: -5, longitude: 42 }, options),
    })),
    deadline: await scenario(async (options) => ({
      response: await client.getFeature({ latitude: 999, longitude: 2000 }, { ...options, timeoutMs: 200 }),
    })),
    client_stream: await scenario(async (options) => ({
      response: await client.recordRoute(
        (async function* points() {
          yield { latitude: 1 };
        })(),
        options,
      ),
    })),
  };
}

async function main() {
  const out = {};
  for (const [name, make] of [
    ['grpcweb', createGrpcWebTransport],
    ['connect', createConnectTransport],
  ]) {
    try {
      out[name] = await run(make({ baseUrl, httpVersion: '1.1' }));
    } catch (error) {
      out[name] = { crash: String(error && error.stack ? error.stack : error) };
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
