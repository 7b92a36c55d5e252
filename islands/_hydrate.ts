/**
 * Hydrates every element the server marked for one island (`data-island` = its name) with
 * the props serialised in `data-props`. Each island's bundle entry calls this once.
 *
 * @module
 */
import { type Attributes, type ComponentType, h, hydrate } from "preact";

/** Hydrates the island `name` wherever the page holds it. */
export function hydrateIsland<P>(name: string, component: ComponentType<P>): void {
  for (const element of document.querySelectorAll(`[data-island="${name}"]`)) {
    const props: Attributes & P = JSON.parse(element.getAttribute("data-props") ?? "{}");
    hydrate(h(component, props), element);
  }
}
