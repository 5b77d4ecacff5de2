/*!
 * Heinz Admissions Assistant — chat widget for Rasa's REST channel.
 * No dependencies, no framework. Embed with one script tag:
 *
 *   <script src="/static/chat-widget.js" data-server-url="http://localhost:5005"
 *           data-title="Heinz Admissions Assistant" data-greeting-payload="/greet"
 *           data-program="mism"
 *           data-contact-office="Heinz College Office of Admissions"
 *           data-contact-email="hnzadmit@andrew.cmu.edu" data-contact-phone="412-268-2164" defer></script>
 *
 * or load the script with data-auto-init="false" and call window.HeinzChat.init({ serverUrl: "…" }).
 * See docs/widget.md for every option. The contact comes from the page (the demo site renders it
 * from the knowledge file); every sentence the widget shows is in STRINGS below.
 *
 * Built from widget/src/ by widget/build.mjs (`make widget`); edit the sources, not this file.
 *
 * Safety rule: message text is never parsed as HTML. Everything the bot or the visitor
 * wrote is put into the page with textContent / createTextNode; links are built as <a> elements
 * whose href passed a protocol check (http, https, mailto only).
 */
