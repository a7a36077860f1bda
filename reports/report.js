// report.js: the few toggles of a harness report. Everything is readable
// without it; it only adds buttons to open or close every span's details
// and to hide the spans too short to see.
(function () {
	"use strict";
	function button(label, onclick) {
		var b = document.createElement("button");
		b.type = "button";
		b.textContent = label;
		b.addEventListener("click", onclick);
		return b;
	}
	var falls = document.querySelectorAll(".waterfall");
	Array.prototype.forEach.call(falls, function (fall) {
		var tools = document.createElement("div");
		var rows = fall.querySelectorAll("details");
		tools.className = "tools";
		tools.appendChild(button("Open all", function () {
			Array.prototype.forEach.call(rows, function (d) {
				d.open = true;
			});
		}));
		tools.appendChild(button("Close all", function () {
			Array.prototype.forEach.call(rows, function (d) {
				d.open = false;
			});
		}));
		tools.appendChild(button("Hide spans under 1%", function (e) {
			var hidden = fall.classList.toggle("hidden-fast");
			e.target.textContent = hidden ? "Show every span" :
				"Hide spans under 1%";
		}));
		fall.parentNode.insertBefore(tools, fall);
	});
}());
