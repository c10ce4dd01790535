'use strict';
// Shared by client.js and server.js: load the route-guide contract at run time with
// @grpc/proto-loader (no generated JavaScript), turn gRPC metadata into plain JSON, and encode
// and decode the google.rpc.Status of the `grpc-status-details-bin` trailer (with protobufjs,
// from the .proto files googleapis-common-protos installs, whose folder the tests pass).

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const STATUS_DETAILS = 'grpc-status-details-bin';
const TYPE_PREFIX = 'type.googleapis.com/';

const CONTRACT = 'routeguide/v1/route_guide.proto';

function loadContract(protoRoot) {
  const definition = protoLoader.loadSync(CONTRACT, {
    includeDirs: [path.resolve(protoRoot)],
    keepCase: true, // field names as in the contract (point_count, finished_at)
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).routeguide.v1;
}

// {key: [value, ...]} with binary (-bin) values as {"hex": "..."}.
function metadataToJson(metadata) {
  const result = {};
  if (!metadata) return result;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    result[key] = values.map((v) => (Buffer.isBuffer(v) ? { hex: v.toString('hex') } : v));
  }
  return result;
}

// google.rpc.Status and the error detail types, read from googleapisRoot (google/rpc/*.proto;
// protobufjs brings google/protobuf's own files).
function loadStatusTypes(googleapisRoot) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(path.resolve(googleapisRoot), target);
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  return root;
}

// The trailer's Status as {code, message, details: [{type, value}]}, each detail decoded by its
// type (unknown types keep their bytes as hex); null without the trailer.
function statusDetailsToJson(types, metadata) {
  const [encoded] = metadata ? metadata.get(STATUS_DETAILS) : [];
  if (encoded === undefined) return null;
  const status = types.lookupType('google.rpc.Status').decode(encoded);
  const details = status.details.map((any) => {
    const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    const type = types.lookup(name);
    if (!(type instanceof protobuf.Type)) return { type: name, hex: Buffer.from(any.value).toString('hex') };
    return { type: name, value: type.toObject(type.decode(any.value), { longs: String, enums: String }) };
  });
  return { code: status.code, message: status.message, details };
}

// The trailer for a status with details given as [typeName, plain object] pairs.
function encodeStatusDetails(types, code, message, details) {
  const Status = types.lookupType('google.rpc.Status');
  const packed = details.map(([name, value]) => {
    const type = types.lookupType(name);
    return { type_url: TYPE_PREFIX + name, value: type.encode(type.fromObject(value)).finish() };
  });
  return Buffer.from(Status.encode(Status.fromObject({ code, message, details: packed })).finish());
}

module.exports = {
  grpc,
  loadContract,
  metadataToJson,
  loadStatusTypes,
  statusDetailsToJson,
  encodeStatusDetails,
  STATUS_DETAILS,
};
