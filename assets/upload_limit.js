// dcc.Upload ignores a file above its max_size without telling anyone: say why under the drop zone instead.
(function () {
  function check(event) {
    var zone = event.target && event.target.closest && event.target.closest("[data-max-bytes]");
    if (!zone) { return; }
    var note = zone.querySelector(".upload-refused");
    var files = (event.dataTransfer && event.dataTransfer.files) || event.target.files || [];
    var limit = Number(zone.getAttribute("data-max-bytes"));
    var big = Array.prototype.find.call(files, function (file) { return file.size > limit; });
    if (!note) { return; }
    note.textContent = big
      ? big.name + " is " + (big.size / 1048576).toFixed(1) + " MB; this server takes uploads up to " +
        Math.round(limit / 1048576) + " MB. Larger files can be opened from the server's data folder " +
        "(Data page) or run with the segment command."
      : "";
  }
  document.addEventListener("change", check, true);
  document.addEventListener("drop", check, true);
})();
