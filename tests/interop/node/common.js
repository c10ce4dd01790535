'use strict';
// Shared by client.js and server.js: load the route-guide contract at run time with
// @grpc/proto-loader (no generated JavaScript), and turn gRPC metadata into plain JSON.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

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

module.exports = { grpc, loadContract, metadataToJson };
