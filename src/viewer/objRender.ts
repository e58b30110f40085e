/**
 * Renders an exported OBJ + MTL + PNG the way a third-party viewer reads them: three.js's OBJLoader and MTLLoader
 * (the same conventions Blender uses: v = 0 at the bottom of the image, the MTL's map_Kd next to the OBJ), unlit, from
 * a photo's camera (K, camFromWorld in OpenCV axes). The page and the tests use it to check that the zip's UVs land on
 * the texture where the photos say they should.
 */
import * as THREE from 'three';
import { unzipSync } from 'fflate';
import { MTLLoader } from 'three/examples/jsm/loaders/MTLLoader.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';

export interface ObjRenderRequest {
  zip: Uint8Array;
  /** Path of the OBJ inside the zip (e.g. feedforward/mesh.obj); its MTL and texture are looked up beside it. */
  obj: string;
  /** 3x3 row-major intrinsics for an image of width x height, top-left pixel centre at (0, 0). */
  K: number[];
  /** 3x4 row-major [R | t], OpenCV axes. */
  camFromWorld: number[];
  width: number;
  height: number;
  /** Test hook: read the texture upside down (what a V-flip bug in the exporter would look like). */
  flipTexture?: boolean;
}

/** RGBA8 pixels, top row first; alpha 0 where no surface was drawn. */
export async function renderObjFromCamera(req: ObjRenderRequest): Promise<Uint8Array> {
  const files = unzipSync(req.zip);
  const folder = req.obj.includes('/') ? req.obj.slice(0, req.obj.lastIndexOf('/') + 1) : '';
  const text = (path: string) => {
    const bytes = files[path];
    if (!bytes) throw new Error(`${path} is not in the zip`);
    return new TextDecoder().decode(bytes);
  };
  const objText = text(req.obj);
  const mtlName = /^mtllib\s+(.+)$/m.exec(objText)?.[1].trim();
  if (!mtlName) throw new Error(`${req.obj} names no material library`);
  const mtlText = text(folder + mtlName);
  const urls: string[] = [];
  const manager = new THREE.LoadingManager();
  manager.setURLModifier((url) => {
    const name = decodeURIComponent(url.split('/').pop() ?? url);
    const bytes = files[folder + name];
    if (!bytes) return url;
    const blobUrl = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'image/png' }));
    urls.push(blobUrl);
    return blobUrl;
  });
  // MTLLoader names the materials the OBJ uses; the diffuse map is loaded here so that rendering waits for it.
  const materials = new MTLLoader(manager).parse(mtlText, '');
  const object = new OBJLoader().setMaterials(materials).parse(objText);
  const mapName = /^\s*map_Kd\s+(.+)$/m.exec(mtlText)?.[1].trim();
  const map = mapName ? await new THREE.TextureLoader(manager).loadAsync(mapName) : null;
  if (map) {
    map.colorSpace = THREE.SRGBColorSpace;
    if (req.flipTexture) {
      map.repeat.set(1, -1);
      map.offset.set(0, 1);
    }
  }
  object.traverse((node) => {
    const mesh = node as THREE.Mesh;
    if (!mesh.isMesh) return;
    const source = (Array.isArray(mesh.material) ? mesh.material[0] : mesh.material) as THREE.MeshPhongMaterial;
    mesh.material = new THREE.MeshBasicMaterial({ map, color: map ? 0xffffff : source.color, side: THREE.DoubleSide });
  });
  const scene = new THREE.Scene();
  scene.add(object);
  const camera = cameraFromCv(req.K, req.camFromWorld, req.width, req.height);
  const renderer = new THREE.WebGLRenderer({ antialias: false, alpha: true });
  try {
    renderer.outputColorSpace = THREE.SRGBColorSpace;
    const target = new THREE.WebGLRenderTarget(req.width, req.height, { colorSpace: THREE.SRGBColorSpace });
    renderer.setRenderTarget(target);
    renderer.setClearColor(0x000000, 0);
    renderer.clear();
    renderer.render(scene, camera);
    const flipped = new Uint8Array(req.width * req.height * 4);
    renderer.readRenderTargetPixels(target, 0, 0, req.width, req.height, flipped);
    target.dispose();
    // WebGL reads bottom row first.
    const out = new Uint8Array(flipped.length);
    const row = req.width * 4;
    for (let y = 0; y < req.height; y++) out.set(flipped.subarray((req.height - 1 - y) * row, (req.height - y) * row), y * row);
    return out;
  } finally {
    renderer.dispose();
    for (const u of urls) URL.revokeObjectURL(u);
  }
}

/** A three.js camera reproducing a pinhole K and an OpenCV [R | t] (x right, y down, z forward). */
export function cameraFromCv(K: number[], camFromWorld: number[], width: number, height: number, near = 0.01, far = 1000): THREE.Camera {
  const camera = new THREE.Camera();
  const [fx, , cx, , fy, cy] = K;
  // OpenCV pixel (u, v) with centres at integers -> NDC: x = (2 (u + 0.5) / W) - 1, y = 1 - 2 (v + 0.5) / H.
  const p = new THREE.Matrix4();
  p.set(
    (2 * fx) / width, 0, 1 - (2 * (cx + 0.5)) / width, 0,
    0, (2 * fy) / height, (2 * (cy + 0.5)) / height - 1, 0,
    0, 0, -(far + near) / (far - near), (-2 * far * near) / (far - near),
    0, 0, -1, 0,
  );
  camera.projectionMatrix.copy(p);
  camera.projectionMatrixInverse.copy(p).invert();
  // View matrix: OpenGL camera axes are OpenCV's with y and z negated.
  const c = camFromWorld;
  const view = new THREE.Matrix4().set(c[0], c[1], c[2], c[3], -c[4], -c[5], -c[6], -c[7], -c[8], -c[9], -c[10], -c[11], 0, 0, 0, 1);
  camera.matrixWorldInverse.copy(view);
  camera.matrixWorld.copy(view).invert();
  camera.matrixAutoUpdate = false;
  camera.matrixWorldAutoUpdate = false;
  return camera;
}
