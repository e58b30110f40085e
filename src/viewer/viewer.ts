/**
 * The result viewer (three.js + OrbitControls): the mesh from the zip's PLY (vertex colours, or the texture when the
 * zip has one), shaded / textured / wireframe, and the cameras as frusta. Main-thread only; reads the zip bytes.
 */
import { unzipSync } from 'fflate';
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js';
import { cameraCentre, convergencePoint, viewDirection } from '../core/camera';
import type { Report } from '../core/report';

export type ViewMode = 'color' | 'shaded' | 'wireframe';

export class ResultViewer {
  private readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera = new THREE.PerspectiveCamera(45, 1, 0.001, 1000);
  private readonly controls: OrbitControls;
  private readonly content = new THREE.Group();
  private meshes: THREE.Mesh[] = [];
  private cropHelper: THREE.Box3Helper | null = null;
  /** How many frusta are drawn and how many show their photo (the page reports it; tests read it). */
  frusta = { count: 0, withPhotos: 0 };
  private frame = 0;
  private observer: ResizeObserver;

  constructor(private readonly container: HTMLElement) {
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
    this.renderer.setClearColor(0x1d2230);
    container.append(this.renderer.domElement);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.6), this.content);
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(1, 2, 1.5);
    this.camera.add(sun);
    this.scene.add(this.camera);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
    this.resize();
    const loop = () => {
      this.frame = requestAnimationFrame(loop);
      this.controls.update();
      this.renderer.render(this.scene, this.camera);
    };
    loop();
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth), h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  /** Shows every model's mesh from the zip (side by side when there are several) and the cameras. */
  show(zip: Uint8Array, report: Report, photos?: PhotoThumbnails): { faces: number; size: [number, number, number] } {
    this.clear();
    const files = unzipSync(zip);
    const loader = new PLYLoader();
    let faces = 0;
    const box = new THREE.Box3();
    report.meshes.forEach((m, i) => {
      const bytes = files[m.ply];
      if (!bytes) return;
      const geometry = loader.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      if (!geometry.getAttribute('normal')) geometry.computeVertexNormals();
      const material = new THREE.MeshStandardMaterial({ vertexColors: Boolean(geometry.getAttribute('color')), roughness: 0.85, side: THREE.DoubleSide });
      const texture = m.texture ? files[m.texture] : null;
      if (texture) {
        const url = URL.createObjectURL(new Blob([texture as BlobPart], { type: 'image/png' }));
        material.map = new THREE.TextureLoader().load(url, () => URL.revokeObjectURL(url));
        material.map.colorSpace = THREE.SRGBColorSpace;
        // Mip-mapped (three.js' default) and anisotropic, so that surfaces seen at a slant stay sharp; the bake fills
        // the atlas outside the charts, so the mip levels carry no black into chart borders.
        material.map.anisotropy = this.renderer.capabilities.getMaxAnisotropy();
        material.vertexColors = false;
      }
      const mesh = new THREE.Mesh(geometry, material);
      mesh.name = m.model;
      geometry.computeBoundingBox();
      const size = geometry.boundingBox!.getSize(new THREE.Vector3());
      mesh.position.x = i * size.x * 1.2;
      this.content.add(mesh);
      this.meshes.push(mesh);
      box.union(geometry.boundingBox!.clone().translate(mesh.position));
      faces += m.faces;
    });
    const size = box.getSize(new THREE.Vector3());
    const scale = Math.max(size.x, size.y, size.z) || 1;
    // Structure from motion's sparse points (beside the first model's mesh), when the cameras were found by us.
    const pointsFile = report.sfm?.pointsFile ? files[report.sfm.pointsFile] : undefined;
    if (pointsFile) {
      const geometry = loader.parse(pointsFile.buffer.slice(pointsFile.byteOffset, pointsFile.byteOffset + pointsFile.byteLength) as ArrayBuffer);
      geometry.deleteAttribute('normal');
      // Coloured from the photos when the file carries colours (SfM writes them); orange otherwise.
      const material = geometry.hasAttribute('color') ? { vertexColors: true, size: 2, sizeAttenuation: false } : { color: 0xff8a3d, size: 2, sizeAttenuation: false };
      const points = new THREE.Points(geometry, new THREE.PointsMaterial(material));
      points.name = 'sparse points';
      this.content.add(points);
    }
    const registered = report.cameras.filter((cam) => cam.registered && cam.camFromWorld.length > 0);
    // Frusta sized by the whole scene (cameras and mesh), so their photos stay readable when the cameras stand far
    // from a small object.
    const scene = box.clone();
    for (const cam of registered) scene.expandByPoint(new THREE.Vector3(...cameraCentre(cam.camFromWorld.flat())));
    const planeSize = 0.07 * (scene.isEmpty() ? scale : scene.getSize(new THREE.Vector3()).length());
    for (const cam of registered) {
      const width = cam.width ?? 2 * cam.K[0][2], height = cam.height ?? 2 * cam.K[1][2];
      this.content.add(frustum(cam.K, cam.camFromWorld, width, height, frustumDepth(cam.K, width, height, planeSize), photos?.get(cam.name)));
    }
    this.frusta = { count: registered.length, withPhotos: registered.filter((cam) => photos?.has(cam.name)).length };
    this.frameBox(box, upFromCameras(report));
    return { faces, size: [size.x, size.y, size.z] };
  }

  /** Before a run: the cameras of an inspected capture as frusta, framed. */
  showCameras(cameras: { name: string; K: number[][]; camFromWorld: number[][] | null; width: number; height: number }[], photos?: PhotoThumbnails): void {
    this.clear();
    const posed = cameras.filter((c): c is typeof c & { camFromWorld: number[][] } => Boolean(c.camFromWorld));
    if (!posed.length) return;
    const centres = posed.map((c) => new THREE.Vector3(...cameraCentre(c.camFromWorld.flat())));
    const box = new THREE.Box3().setFromPoints(centres);
    const scale = box.getSize(new THREE.Vector3()).length() || 1;
    for (const c of posed) this.content.add(frustum(c.K, c.camFromWorld, c.width, c.height, frustumDepth(c.K, c.width, c.height, scale * 0.07), photos?.get(c.name)));
    this.frusta = { count: posed.length, withPhotos: posed.filter((c) => photos?.has(c.name)).length };
    const report = { cameras: posed.map((c) => ({ registered: true, camFromWorld: c.camFromWorld })) } as unknown as Report;
    this.frameBox(box, upFromCameras(report));
  }

  /** The crop box (world min / max), or null to hide it. */
  setCropBox(box: { min: number[]; max: number[] } | null): void {
    if (this.cropHelper) {
      this.scene.remove(this.cropHelper);
      this.cropHelper.geometry.dispose();
      (this.cropHelper.material as THREE.Material).dispose();
      this.cropHelper = null;
    }
    if (!box) return;
    const b = new THREE.Box3(new THREE.Vector3(...box.min), new THREE.Vector3(...box.max));
    this.cropHelper = new THREE.Box3Helper(b, 0x40c0f0);
    this.scene.add(this.cropHelper);
  }

  setMode(mode: ViewMode): void {
    for (const mesh of this.meshes) {
      const material = mesh.material as THREE.MeshStandardMaterial;
      material.wireframe = mode === 'wireframe';
      material.vertexColors = mode !== 'shaded' && !material.map && Boolean(mesh.geometry.getAttribute('color'));
      material.color.set(mode === 'shaded' ? 0xd8d8d8 : 0xffffff);
      material.needsUpdate = true;
    }
  }

  /** Frames the box from the side the cameras looked from, with their average "up" as up. */
  private frameBox(box: THREE.Box3, view: { up: THREE.Vector3; forward: THREE.Vector3 }): void {
    if (box.isEmpty()) return;
    const centre = box.getCenter(new THREE.Vector3());
    const radius = box.getSize(new THREE.Vector3()).length() / 2;
    this.camera.up.copy(view.up);
    this.camera.position.copy(centre).addScaledVector(view.forward, -radius * 2.4).addScaledVector(view.up, radius * 0.6);
    this.camera.near = radius / 100;
    this.camera.far = radius * 100;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(centre);
    this.controls.update();
  }

  clear(): void {
    for (const child of [...this.content.children]) {
      this.content.remove(child);
      child.traverse((o) => {
        const m = o as THREE.Mesh;
        m.geometry?.dispose();
        const mat = m.material as THREE.Material | undefined;
        (mat as THREE.MeshStandardMaterial | undefined)?.map?.dispose();
        mat?.dispose();
      });
    }
    this.meshes = [];
    this.frusta = { count: 0, withPhotos: 0 };
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    this.clear();
    this.controls.dispose();
    this.renderer.dispose();
  }
}

/**
 * A starting crop box for cameras that look at an object: the point nearest to every optical axis (least squares),
 * with a half-size of what a camera sees there: the median over cameras of distance x tan(half the wider field of
 * view), so an object that stays in frame stays in the box, and a narrow lens (the temple's 24 degrees) gets a box
 * that fits the object rather than the cameras' ring (0.45 x the distance before: 2-4x too wide, too coarse voxels).
 * Without intrinsics, 0.45 x the median distance. Null when the axes do not converge (a scan of a room).
 */
export function initialCropBox(cameras: { camFromWorld: number[][] | null; K?: number[][]; width?: number; height?: number }[]): { min: number[]; max: number[] } | null {
  const posed = cameras.filter((c): c is typeof c & { camFromWorld: number[][] } => Boolean(c.camFromWorld));
  const poses = posed.map((c) => c.camFromWorld.flat());
  if (poses.length < 2) return null;
  // Parallel optical axes (every view within 2 degrees of the mean direction) meet nowhere.
  const dirs = poses.map(viewDirection);
  const mean = [0, 1, 2].map((k) => dirs.reduce((s, d) => s + d[k], 0));
  const norm = Math.hypot(mean[0], mean[1], mean[2]);
  if (norm > 0 && dirs.every((d) => (d[0] * mean[0] + d[1] * mean[1] + d[2] * mean[2]) / norm > Math.cos((2 * Math.PI) / 180))) return null;
  const x = convergencePoint(poses);
  const centres = poses.map(cameraCentre);
  // In front of most cameras, or the axes do not meet at an object.
  const inFront = poses.filter((p, i) => dirs[i].reduce((s, d, k) => s + d * (x[k] - centres[i][k]), 0) > 0).length;
  if (inFront < 0.8 * poses.length) return null;
  const halves = centres.map((c, i) => {
    const distance = Math.hypot(c[0] - x[0], c[1] - x[1], c[2] - x[2]);
    const { K, width, height } = posed[i];
    return K && width && height ? distance * Math.max(width / 2 / K[0][0], height / 2 / K[1][1]) : 0.45 * distance;
  }).sort((p, q) => p - q);
  const half = halves[halves.length >> 1];
  return { min: [x[0] - half, x[1] - half, x[2] - half], max: [x[0] + half, x[1] + half, x[2] + half] };
}

/** How deep a frustum must be for its image plane's longer side to measure `planeSize` (narrow lenses: deeper). */
function frustumDepth(K: number[][], width: number, height: number, planeSize: number): number {
  return planeSize / Math.max(width / K[0][0], height / K[1][1], 1e-3);
}

/** Small photos by view name, drawn on the frusta's image planes. The page owns (and closes) the bitmaps. */
export type PhotoThumbnails = ReadonlyMap<string, ImageBitmap>;

/**
 * A camera frustum (OpenCV K, camFromWorld) as lines, `depth` deep; with a photo, its image plane shows it (a
 * textured quad whose corners are the photo's corners, so the picture sits where the camera saw it).
 */
function frustum(K: number[][], camFromWorld: number[][], width: number, height: number, depth: number, photo?: ImageBitmap): THREE.Object3D {
  const R = camFromWorld.map((r) => r.slice(0, 3)), t = camFromWorld.map((r) => r[3]);
  const toWorld = (x: number, y: number, z: number) => {
    const p = [x - t[0], y - t[1], z - t[2]];
    return new THREE.Vector3(R[0][0] * p[0] + R[1][0] * p[1] + R[2][0] * p[2], R[0][1] * p[0] + R[1][1] * p[1] + R[2][1] * p[2], R[0][2] * p[0] + R[1][2] * p[1] + R[2][2] * p[2]);
  };
  const corner = (u: number, v: number) => toWorld(((u - K[0][2]) / K[0][0]) * depth, ((v - K[1][2]) / K[1][1]) * depth, depth);
  const o = toWorld(0, 0, 0);
  const c = [corner(0, 0), corner(width, 0), corner(width, height), corner(0, height)];
  const pts = [o, c[0], o, c[1], o, c[2], o, c[3], c[0], c[1], c[1], c[2], c[2], c[3], c[3], c[0]];
  const lines = new THREE.LineSegments(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: 0xf0b040 }));
  lines.name = 'frustum';
  if (!photo) return lines;
  // The texture shares the page's bitmap (three.js does not close it); disposing the texture frees only its GL copy.
  const texture = new THREE.Texture(photo);
  // ImageBitmaps are not flipped on upload: v = 0 is the photo's top row, at corner (0, 0).
  texture.flipY = false;
  texture.colorSpace = THREE.SRGBColorSpace;
  texture.needsUpdate = true;
  const plane = new THREE.BufferGeometry().setFromPoints([c[0], c[1], c[2], c[3]]);
  plane.setAttribute('uv', new THREE.Float32BufferAttribute([0, 0, 1, 0, 1, 1, 0, 1], 2));
  plane.setIndex([0, 1, 2, 0, 2, 3]);
  const image = new THREE.Mesh(plane, new THREE.MeshBasicMaterial({ map: texture, side: THREE.DoubleSide, toneMapped: false }));
  image.name = 'frustum photo';
  const group = new THREE.Group();
  group.name = 'camera';
  group.add(lines, image);
  return group;
}

/**
 * The normal of the plane the camera centres lie in, when they spread over a ring or an arc of one (not a line, not a
 * cloud): the smallest principal axis of their covariance, by power iteration on the larger two.
 */
function ringNormal(centres: THREE.Vector3[]): THREE.Vector3 | null {
  if (centres.length < 4) return null;
  const mean = centres.reduce((m, c) => m.add(c), new THREE.Vector3()).divideScalar(centres.length);
  const C = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (const c of centres) {
    const d = c.clone().sub(mean).toArray();
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) C[3 * i + j] += d[i] * d[j];
  }
  const principal = (M: number[]): { v: THREE.Vector3; value: number } => {
    let v = new THREE.Vector3(1, 0.7, 0.3).normalize();
    let value = 0;
    for (let k = 0; k < 100; k++) {
      const w = new THREE.Vector3(M[0] * v.x + M[1] * v.y + M[2] * v.z, M[3] * v.x + M[4] * v.y + M[5] * v.z, M[6] * v.x + M[7] * v.y + M[8] * v.z);
      value = w.length();
      if (value < 1e-30) break;
      v = w.divideScalar(value);
    }
    return { v, value };
  };
  const a = principal(C);
  const deflated = C.map((c, k) => c - a.value * a.v.getComponent(Math.floor(k / 3)) * a.v.getComponent(k % 3));
  const b = principal(deflated);
  const n = a.v.clone().cross(b.v).normalize();
  const off = centres.reduce((s, c) => s + (c.clone().sub(mean).dot(n)) ** 2, 0);
  // An arc: the second axis carries real spread; flat: the normal direction carries little of it.
  return b.value > 0.05 * a.value && off < 0.1 * b.value ? n : null;
}

/** The cameras' average up (-y of OpenCV cameras) and viewing direction, in world coordinates. */
export function upFromCameras(report: Report): { up: THREE.Vector3; forward: THREE.Vector3 } {
  const up = new THREE.Vector3(), forward = new THREE.Vector3();
  for (const cam of report.cameras) {
    if (!cam.registered || cam.camFromWorld.length === 0) continue;
    const R = cam.camFromWorld;
    up.add(new THREE.Vector3(-R[1][0], -R[1][1], -R[1][2]));
    forward.add(new THREE.Vector3(R[2][0], R[2][1], R[2][2]));
  }
  if (up.lengthSq() < 1e-12) up.set(0, -1, 0);
  // Cameras around an object usually circle its vertical axis; photos may be turned in the image plane (the
  // Middlebury temple's are, by 90 degrees), so the normal of the cameras' ring is the better "up" when there is one.
  const ring = ringNormal(report.cameras.filter((c) => c.registered && c.camFromWorld.length > 0).map((c) => new THREE.Vector3(...cameraCentre(c.camFromWorld.flat()))));
  if (ring) {
    // Its sign: cameras look down at an object more often than up at it; level cameras keep their own "up".
    const look = forward.clone().normalize().dot(ring);
    up.copy(Math.abs(look) > 0.1 ? (look > 0 ? ring.negate() : ring) : ring.dot(up) < 0 ? ring.negate() : ring);
  }
  if (forward.lengthSq() < 1e-12 || Math.abs(forward.clone().normalize().dot(up.clone().normalize())) > 0.95) forward.set(0, 0, 1);
  // keep forward perpendicular to up
  up.normalize();
  forward.addScaledVector(up, -forward.dot(up)).normalize();
  return { up, forward };
}
