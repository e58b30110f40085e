/** A fake GPUDevice for VRAM accounting tests: records creates and destroys, can simulate out-of-memory. */
import type { VramDevice } from '../../src/gpu/vram';

export interface FakeResource {
  label: string;
  size: number;
  destroyed: boolean;
  destroy(): void;
}

export class FakeDevice implements VramDevice {
  created: FakeResource[] = [];
  oomNext = false;
  private scopes: ('out-of-memory' | 'validation' | 'internal')[] = [];
  private scopeErrors: (GPUError | null)[] = [];
  queueWaits = 0;
  readonly queue = {
    onSubmittedWorkDone: async () => {
      this.queueWaits++;
    },
  };
  createBuffer(descriptor: GPUBufferDescriptor): GPUBuffer {
    return this.make(descriptor.label ?? '', descriptor.size) as unknown as GPUBuffer;
  }
  createTexture(descriptor: GPUTextureDescriptor): GPUTexture {
    return this.make(descriptor.label ?? '', 0) as unknown as GPUTexture;
  }
  pushErrorScope(filter: GPUErrorFilter): void {
    this.scopes.push(filter);
    this.scopeErrors.push(null);
  }
  async popErrorScope(): Promise<GPUError | null> {
    this.scopes.pop();
    return this.scopeErrors.pop() ?? null;
  }
  private make(label: string, size: number): FakeResource {
    const resource: FakeResource = {
      label,
      size,
      destroyed: false,
      destroy() {
        resource.destroyed = true;
      },
    };
    if (this.oomNext && this.scopes.at(-1) === 'out-of-memory') {
      this.oomNext = false;
      this.scopeErrors[this.scopeErrors.length - 1] = { message: 'fake: out of memory' } as GPUError;
    }
    this.created.push(resource);
    return resource;
  }
}

export const LIMITS = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 28, deviceLocalHeapBytes: null, isFallbackAdapter: false };
