// Voice notes on the phone page: play them in the thread, attach an audio file, or
// record one with the microphone (MediaRecorder) where the browser allows it.
// Loaded before phone.js; uses its `state`, `$`, `notice` and `send` when called.
"use strict";

const MAX_AUDIO_BYTES = 16 * 1024 * 1024; // WhatsApp's limit for audio

function isAudio(item) {
  return Boolean(item.content_type && item.content_type.startsWith("audio/"));
}

// A voice note bubble: a mic and a player.
function audioBlock(item, msg) {
  const block = document.createElement("div");
  block.className = "voice-note";
  const mic = document.createElement("span");
  mic.className = "voice-mic";
  mic.textContent = "🎙️";
  mic.setAttribute("aria-hidden", "true");
  block.appendChild(mic);
  if (!item.url) {
    const missing = document.createElement("span");
    missing.className = "img-missing";
    missing.textContent = msg.status === "failed" ? "Audio could not be downloaded" : "Loading audio…";
    block.appendChild(missing);
    return block;
  }
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "metadata";
  audio.src = item.url;
  audio.setAttribute("aria-label", "voice message");
  block.appendChild(audio);
  return block;
}

// An audio file chosen with the paperclip: previewed, sent with the next message.
function attachAudio(file) {
  if (file.size > MAX_AUDIO_BYTES) return notice("Audio over 16 MB cannot be sent.");
  const reader = new FileReader();
  reader.addEventListener("load", () => showAudio(reader.result, "Voice note attached"));
  reader.readAsDataURL(file);
}

function showAudio(dataUrl, label) {
  state.media = dataUrl;
  $("preview-img").hidden = true;
  const player = $("preview-audio");
  player.src = dataUrl;
  player.hidden = false;
  $("preview").querySelector(".preview-label").textContent = label;
  $("preview").hidden = false;
  notice(null);
}

// Put the preview back as phone.js expects it (an image); phone.js's clearMedia calls it.
function resetAudioPreview() {
  const player = $("preview-audio");
  player.hidden = true;
  player.removeAttribute("src");
  $("preview-img").hidden = false;
  $("preview").querySelector(".preview-label").textContent = "Image attached";
}

const recording = { recorder: null, chunks: [] };

function recordType() {
  const wanted = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"];
  return wanted.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

async function toggleRecording() {
  if (recording.recorder) return recording.recorder.stop();
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    return notice("This browser cannot record here (it needs https or localhost); attach an audio file instead.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    return notice(`The microphone is not available (${error.name}); attach an audio file instead.`);
  }
  const recorder = new MediaRecorder(stream, { mimeType: recordType() });
  recording.recorder = recorder;
  recording.chunks = [];
  recorder.addEventListener("dataavailable", (event) => recording.chunks.push(event.data));
  recorder.addEventListener("stop", () => finishRecording(recorder, stream));
  recorder.start();
  $("record").classList.add("recording");
  $("record").setAttribute("aria-label", "Stop recording and send");
  notice("Recording… tap the microphone again to send.");
}

function finishRecording(recorder, stream) {
  for (const track of stream.getTracks()) track.stop();
  recording.recorder = null;
  $("record").classList.remove("recording");
  $("record").setAttribute("aria-label", "Record a voice note");
  const type = (recorder.mimeType || "audio/webm").split(";")[0];
  const blob = new Blob(recording.chunks, { type });
  if (!blob.size) return notice("Nothing was recorded.");
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    // a recording goes at once, as on WhatsApp; the codec parameter is left out
    state.media = reader.result.replace(/^data:[^;,]+(;[^;,]+=[^;,]+)*;base64,/, `data:${type};base64,`);
    notice(null);
    send();
  });
  reader.readAsDataURL(blob);
}

function wireVoice() {
  $("record").addEventListener("click", toggleRecording);
}

document.addEventListener("DOMContentLoaded", wireVoice);
