// Request bodies for the "try it" panel, built from a signature: one example row of the right
// shape and dtype (unknown dimensions become 1), for TF Serving's REST API and for V2.

const V2_TYPES = {
  DT_FLOAT: "FP32", DT_DOUBLE: "FP64", DT_HALF: "FP16", DT_BFLOAT16: "BF16",
  DT_INT8: "INT8", DT_INT16: "INT16", DT_INT32: "INT32", DT_INT64: "INT64",
  DT_UINT8: "UINT8", DT_UINT16: "UINT16", DT_UINT32: "UINT32", DT_UINT64: "UINT64",
  DT_BOOL: "BOOL", DT_STRING: "BYTES",
};

function scalar(dtype) {
  if (dtype === "DT_STRING") return "";
  if (dtype === "DT_BOOL") return false;
  if (["DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"].includes(dtype)) return 0.5;
  return 1;
}

// The concrete dims of one example: the batch dimension (first) and unknown ones become 1.
export function exampleDims(shape) {
  if (shape === null || shape === undefined) return [1];
  return shape.map((d) => (d < 0 ? 1 : d));
}

function nested(dims, value) {
  if (dims.length === 0) return value;
  const [first, ...rest] = dims;
  return Array.from({ length: first }, () => nested(rest, value));
}

export function tfServingExample(signature) {
  const tensors = {};
  for (const input of signature.inputs) {
    tensors[input.alias] = nested(exampleDims(input.shape), scalar(input.dtype));
  }
  const aliases = Object.keys(tensors);
  if (aliases.length === 1) {
    return { signature_name: signature.key, instances: tensors[aliases[0]] };
  }
  return { signature_name: signature.key, inputs: tensors };
}

// V2 names the signature with the `signature_name` parameter (default serving_default).
export function v2Example(signature) {
  const parameters = signature.key === "serving_default" ? undefined : { signature_name: signature.key };
  return {
    ...(parameters ? { parameters } : {}),
    inputs: signature.inputs.map((input) => {
      const dims = exampleDims(input.shape);
      const count = dims.reduce((a, b) => a * b, 1);
      return {
        name: input.alias,
        shape: dims,
        datatype: V2_TYPES[input.dtype] || "FP32",
        data: Array.from({ length: count }, () => scalar(input.dtype)),
      };
    }),
  };
}

// The inference URL for a target ("latest", {version}, {label}) and protocol.
export function inferenceUrl(protocol, model, target) {
  const name = encodeURIComponent(model);
  if (protocol === "v2") {
    // V2's version segment takes a number or a version label.
    const which = target.version || (target.label && encodeURIComponent(target.label));
    return `/v2/models/${name}${which ? `/versions/${which}` : ""}/infer`;
  }
  let path = `/v1/models/${name}`;
  if (target.version) path += `/versions/${target.version}`;
  else if (target.label) path += `/labels/${encodeURIComponent(target.label)}`;
  return `${path}:predict`;
}
