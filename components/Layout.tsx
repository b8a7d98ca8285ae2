import type { ComponentChildren } from "preact";

/** How a page uses the window: a readable column, or the full-height chat of a room. */
export type LayoutVariant = "column" | "room";

/** Props of {@link Layout}. */
export interface LayoutProps {
  children: ComponentChildren;
  variant?: LayoutVariant;
}

/** The frame around every page: the site header and the page's main content. */
export function Layout({ children, variant = "column" }: LayoutProps) {
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      {variant === "room" && <a class="skip-link" href="#composer-text">Skip to message box</a>}
      <header class="site-header">
        <a class="brand" href="/">
          <span class="brand-mark" aria-hidden="true" />
          Parley
        </a>
      </header>
      <main id="main" class={`page page-${variant}`}>{children}</main>
    </>
  );
}
