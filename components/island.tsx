import { type ComponentType, createContext } from "preact";
import { useContext } from "preact/hooks";
import type { IslandManifest } from "../scripts/build.ts";

/** What pages link to: the built islands' files and the stylesheet's URL. */
export interface PageAssets {
  islands: IslandManifest | null;
  /** `/static/dashboard.css?v=<hash>`. */
  stylesheet: string;
}

/** The assets, given to every page by the renderer. */
export const Assets = createContext<PageAssets>({
  islands: null,
  stylesheet: "/static/dashboard.css",
});

/** Where built files are served. */
export const BUILD_PATH = "/static/build/";

/**
 * Marks where an island hydrates: the component's server-rendered HTML inside a
 * `data-island` element carrying its props as JSON, then the island's module script (a
 * module runs once per page however often it is included). Props must be serialisable.
 */
export function Island<P extends Record<string, unknown>>(
  props: { name: string; component: ComponentType<P>; props: P },
) {
  const file = useContext(Assets).islands?.islands[props.name];
  const Component = props.component;
  return (
    <>
      <div data-island={props.name} data-props={JSON.stringify(props.props)}>
        <Component {...props.props} />
      </div>
      {file && <script type="module" src={`${BUILD_PATH}${file}`} />}
    </>
  );
}
