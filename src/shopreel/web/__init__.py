"""ShopReel web layer: server-rendered Jinja2 templates and static assets.

``templates/`` holds the page templates (``base.html`` plus one file per page)
and ``templates/_components/`` the reusable Jinja macros. ``static/`` holds the
hand-written stylesheet (``css/app.css``), the progressive-enhancement script
(``js/app.js``) and the SVG logo and favicon. No build step, no CDN, no web
fonts. docs/design-system.md describes the tokens, components, accessibility
rules and the template context contract.
"""
