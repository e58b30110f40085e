/**
 * The seed's validate_mesh_output: parses every file of a result zip back and checks it. Each model folder that holds
 * a mesh.obj must have a non-empty OBJ, MTL and PLY; indices in range; finite numbers; the texture named by map_Kd
 * present and decodable; OBJ and PLY describing the same mesh (counts, positions, uvs). report.json must parse.
 */
import { decode as decodePng } from 'fast-png';
import { unzipSync } from 'fflate';
import { parseMtl, parseObj, parsePly } from './parse';

export interface ValidatedMesh {
  folder: string;
  vertices: number;
  faces: number;
  texture: { file: string; width: number; height: number } | null;
}

export interface ValidationResult {
  ok: boolean;
  errors: string[];
  meshes: ValidatedMesh[];
  files: string[];
  report: unknown;
}

export function validateMeshOutput(zipBytes: Uint8Array): ValidationResult {
  const errors: string[] = [];
  const meshes: ValidatedMesh[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zipBytes);
  } catch (error) {
    return { ok: false, errors: [`zip: cannot be read (${String(error)})`], meshes, files: [], report: null };
  }
  const names = Object.keys(files).sort();
  let report: unknown = null;
  if (!files['report.json']) errors.push('report.json: missing');
  else {
    try {
      report = JSON.parse(new TextDecoder().decode(files['report.json']));
    } catch (error) {
      errors.push(`report.json: not valid JSON (${String(error)})`);
    }
  }
  const objFiles = names.filter((n) => n.endsWith('.obj'));
  if (objFiles.length === 0) errors.push('zip: no .obj mesh found');
  for (const objName of objFiles) {
    const folder = objName.includes('/') ? objName.slice(0, objName.lastIndexOf('/')) : '';
    const prefix = folder ? `${folder}/` : '';
    const fail = (message: string) => errors.push(`${objName.replace(/\.obj$/, '')}: ${message}`);
    const objBytes = files[objName];
    if (objBytes.length === 0) {
      fail('OBJ is empty');
      continue;
    }
    const obj = parseObj(objBytes);
    for (const e of obj.errors.slice(0, 5)) fail(e);
    const vertexCount = obj.positions.length / 3;
    const faceCount = obj.faceV.length / 3;
    if (vertexCount === 0) fail('OBJ has no vertices');
    if (faceCount === 0) fail('OBJ has no faces');
    if (!allFinite(obj.positions) || !allFinite(obj.uvs) || !allFinite(obj.normals)) fail('OBJ holds non-finite numbers');
    let texture: ValidatedMesh['texture'] = null;
    if (obj.mtllib.length === 0) fail('OBJ names no mtllib');
    for (const mtlName of obj.mtllib) {
      const mtlBytes = files[prefix + mtlName];
      if (!mtlBytes || mtlBytes.length === 0) {
        fail(`MTL ${mtlName} is missing or empty`);
        continue;
      }
      const mtl = parseMtl(mtlBytes);
      for (const used of obj.usemtl) if (!mtl.materials.some((m) => m.name === used)) fail(`material ${used} is not defined in ${mtlName}`);
      for (const material of mtl.materials) {
        if (!material.mapKd) continue;
        const pngBytes = files[prefix + material.mapKd];
        if (!pngBytes || pngBytes.length === 0) {
          fail(`texture ${material.mapKd} named by map_Kd is missing or empty`);
          continue;
        }
        try {
          const image = decodePng(pngBytes);
          if (image.width === 0 || image.height === 0) fail(`texture ${material.mapKd} has no pixels`);
          texture = { file: prefix + material.mapKd, width: image.width, height: image.height };
        } catch (error) {
          fail(`texture ${material.mapKd} cannot be decoded (${String(error)})`);
        }
        if (obj.uvs.length === 0) fail('the material has a texture but the OBJ has no texture coordinates');
      }
    }
    const plyName = objName.replace(/\.obj$/, '.ply');
    const plyBytes = files[plyName];
    if (!plyBytes || plyBytes.length === 0) fail('PLY is missing or empty');
    else {
      try {
        const ply = parsePly(plyBytes);
        if (ply.vertexCount !== vertexCount) fail(`OBJ has ${vertexCount} vertices, PLY ${ply.vertexCount}`);
        if (ply.indices.length / 3 !== faceCount) fail(`OBJ has ${faceCount} triangles, PLY ${ply.indices.length / 3}`);
        if (!allFinite(ply.positions)) fail('PLY holds non-finite positions');
        for (let i = 0; i < ply.indices.length; i++) {
          if (ply.indices[i] >= ply.vertexCount) {
            fail(`PLY face index ${ply.indices[i]} out of range (${ply.vertexCount} vertices)`);
            break;
          }
        }
        if (ply.vertexCount === vertexCount) {
          const worst = maxRelativeDifference(obj.positions, ply.positions);
          if (worst > 1e-4) fail(`OBJ and PLY positions differ (max relative difference ${worst.toExponential(2)})`);
          if (ply.uvs && obj.uvs.length === ply.uvs.length && maxAbsDifference(obj.uvs, ply.uvs) > 1e-4) fail('OBJ and PLY uvs differ');
        }
        if (ply.indices.length === obj.faceV.length) {
          for (let i = 0; i < ply.indices.length; i++) {
            if (ply.indices[i] !== obj.faceV[i]) {
              fail(`OBJ and PLY faces differ (first at triangle ${Math.floor(i / 3)})`);
              break;
            }
          }
        }
      } catch (error) {
        fail(`PLY cannot be read (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    meshes.push({ folder, vertices: vertexCount, faces: faceCount, texture });
  }
  // Structure from motion's sparse points, when present: a readable point-only PLY with finite coordinates.
  for (const name of names.filter((n) => n.startsWith('sfm/') && n.endsWith('.ply'))) {
    try {
      const points = parsePly(files[name]);
      if (points.vertexCount === 0) errors.push(`${name}: no points`);
      if (points.positions.some((v) => !Number.isFinite(v))) errors.push(`${name}: non-finite coordinates`);
    } catch (error) {
      errors.push(`${name}: PLY cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return { ok: errors.length === 0, errors, meshes, files: names, report };
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Max |a-b| / max(1, |b|): the OBJ is written with 6 decimals, the PLY in float32. */
function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}
