/* The scan page: phones whose browser has the BarcodeDetector API scan with the camera; elsewhere the field takes
   typed or scanner-typed codes. */
(function () {
  "use strict";
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  var button = document.getElementById("scan-camera"), video = document.getElementById("scan-video");
  if (!button || !video) { return; }
  button.classList.remove("d-none");
  button.addEventListener("click", async function () {
    const detector = new BarcodeDetector({formats: ["qr_code"]});
    const stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
    video.srcObject = stream; video.classList.remove("d-none"); await video.play();
    const tick = async function () {
      const codes = await detector.detect(video).catch(function () { return []; });
      if (codes.length) {
        stream.getTracks().forEach(function (t) { t.stop(); });
        document.getElementById("code").value = codes[0].rawValue;
        document.getElementById("scan-form").submit();
      } else { requestAnimationFrame(tick); }
    };
    tick();
  });
})();
