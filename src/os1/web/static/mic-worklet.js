// Runs on the audio thread: turns the microphone into 32 ms frames of 16-bit
// PCM for the server, and reports the level for the visual presence.
class MicCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = (options.processorOptions && options.processorOptions.frame) || 512;
    this.buffer = new Float32Array(this.size);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let offset = 0;
    while (offset < channel.length) {
      const n = Math.min(this.size - this.filled, channel.length - offset);
      this.buffer.set(channel.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.size) {
        const pcm = new Int16Array(this.size);
        let energy = 0;
        for (let i = 0; i < this.size; i++) {
          const s = Math.max(-1, Math.min(1, this.buffer[i]));
          pcm[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
          energy += s * s;
        }
        this.port.postMessage({ pcm: pcm.buffer, level: Math.sqrt(energy / this.size) }, [pcm.buffer]);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("mic-capture", MicCapture);
