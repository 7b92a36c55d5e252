import type { ComponentChildren } from "preact";
import { useContext } from "preact/hooks";
import { Assets } from "./island.tsx";
import type { Role } from "../lib/auth/accounts.ts";

/** What every signed-in page shows in its header. */
export interface Chrome {
  email: string;
  role: Role;
  csrf: string;
  workspace: { id: string; name: string };
  workspaces: { id: string; name: string; role: Role }[];
  /** Whether the account may create workspaces (the instance owner). */
  canCreateWorkspace: boolean;
  /** The search box's current text. */
  query?: string;
}

/** The navigation, in order: path and label. */
const NAV: [path: string, label: string][] = [
  ["/", "Overview"],
  ["/events", "Events"],
  ["/live", "Live"],
  ["/failures", "Failures"],
  ["/quality", "Data quality"],
  ["/destinations", "Destinations"],
  ["/settings", "Settings"],
  ["/rules", "Rules"],
  ["/webhooks", "Webhooks"],
  ["/keys", "API keys"],
  ["/people", "People"],
  ["/audit", "Audit log"],
];

/** The HTML document around every page. */
export function Document(props: { title: string; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${props.title} · Sluice`}</title>
        <link rel="stylesheet" href={useContext(Assets).stylesheet} />
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/** A hidden field with the session's CSRF token, for every form that changes something. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A signed-in page: header (workspace switcher, search, navigation, sign-out) and main. */
export function Layout(
  props: { title: string; path: string; chrome: Chrome; children: ComponentChildren },
) {
  const { chrome } = props;
  const current = (path: string) =>
    path === "/" ? props.path === "/" : props.path === path || props.path.startsWith(`${path}/`);
  return (
    <Document title={props.title}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <div class="top-row">
          <a class="brand" href="/">Sluice</a>
          <form class="switcher" method="post" action="/switch">
            <CsrfField token={chrome.csrf} />
            <label for="ws-select" class="visually-hidden">Workspace</label>
            <select id="ws-select" name="workspace">
              {chrome.workspaces.map((ws) => (
                <option value={ws.id} selected={ws.id === chrome.workspace.id}>
                  {ws.name} ({ws.role})
                </option>
              ))}
            </select>
            <button type="submit" class="secondary">Switch</button>
            {chrome.canCreateWorkspace && (
              <a class="new-workspace" href="/workspaces/new">
                New <span class="wide-only">workspace</span>
              </a>
            )}
          </form>
          <form class="search" method="get" action="/search" role="search">
            <label for="q" class="visually-hidden">Search events</label>
            <input
              id="q"
              name="q"
              type="search"
              value={chrome.query ?? ""}
              placeholder="Order id, event id, click id…"
              maxLength={200}
            />
            <button type="submit">Search</button>
          </form>
          <form class="signout" method="post" action="/logout">
            <CsrfField token={chrome.csrf} />
            <span class="who">{chrome.email}</span>
            <button type="submit" class="secondary">Sign out</button>
          </form>
        </div>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li>
                <a href={path} aria-current={current(path) ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </Document>
  );
}
