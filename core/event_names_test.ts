import assert from "node:assert/strict";
import { CANONICAL_EVENT_NAMES, canonicalEventName } from "./event_names.ts";

const SPELLINGS: [string, string][] = [
  ["PageView", "page_view"],
  ["page_view", "page_view"],
  ["Page View", "page_view"],
  ["page", "page_view"],
  ["Page Viewed", "page_view"],
  ["ViewContent", "view_content"],
  ["view_item", "view_content"],
  ["Product Viewed", "view_content"],
  ["view_item_list", "view_category"],
  ["Product List Viewed", "view_category"],
  ["Search", "search"],
  ["AddToCart", "add_to_cart"],
  ["add-to-cart", "add_to_cart"],
  ["add_to_cart", "add_to_cart"],
  ["Product Added", "add_to_cart"],
  ["ADD_CART", "add_to_cart"],
  ["Product Removed", "remove_from_cart"],
  ["remove_from_cart", "remove_from_cart"],
  ["AddToWishlist", "add_to_wishlist"],
  ["Product Added to Wishlist", "add_to_wishlist"],
  ["Cart Viewed", "view_cart"],
  ["InitiateCheckout", "initiate_checkout"],
  ["begin_checkout", "initiate_checkout"],
  ["Checkout Started", "initiate_checkout"],
  ["START_CHECKOUT", "initiate_checkout"],
  ["AddPaymentInfo", "add_payment_info"],
  ["Payment Info Entered", "add_payment_info"],
  ["add_shipping_info", "add_shipping_info"],
  ["Purchase", "purchase"],
  ["purchase", "purchase"],
  ["Order Completed", "purchase"],
  ["CompletePayment", "purchase"],
  ["PlaceAnOrder", "purchase"],
  ["Order Refunded", "refund"],
  ["Lead", "lead"],
  ["generate_lead", "lead"],
  ["SubmitForm", "lead"],
  ["CompleteRegistration", "complete_registration"],
  ["Signed Up", "complete_registration"],
  ["sign_up", "complete_registration"],
  ["Signed In", "login"],
  ["login", "login"],
  ["Subscribe", "subscribe"],
  ["StartTrial", "start_trial"],
  ["Trial Started", "start_trial"],
  ["Contact", "contact"],
  ["Schedule", "schedule"],
  ["SubmitApplication", "submit_application"],
  ["CustomizeProduct", "customize_product"],
  ["FindLocation", "find_location"],
  ["Donate", "donate"],
  ["Application Installed", "app_install"],
  ["screen", "screen_view"],
  ["Screen View", "screen_view"],
  ["  page.view  ", "page_view"],
];

Deno.test("canonicalEventName() maps every known spelling to its canonical name", () => {
  for (const [spelling, canonical] of SPELLINGS) {
    assert.equal(canonicalEventName(spelling), canonical, `spelling ${JSON.stringify(spelling)}`);
  }
});

Deno.test("canonicalEventName() returns each canonical name unchanged", () => {
  for (const name of CANONICAL_EVENT_NAMES) assert.equal(canonicalEventName(name), name);
});

Deno.test("canonicalEventName() passes custom names through with case preserved", () => {
  assert.equal(canonicalEventName("MyCustomEvent"), "MyCustomEvent");
  assert.equal(canonicalEventName("Video Played 50%"), "Video Played 50%");
  assert.equal(canonicalEventName("quote_requested"), "quote_requested");
  assert.equal(canonicalEventName("Checkout Step Viewed"), "Checkout Step Viewed");
  assert.equal(canonicalEventName(""), "");
});

Deno.test("canonicalEventName() returns names of Object.prototype members unchanged", () => {
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    assert.equal(canonicalEventName(name), name);
  }
});

// Regression (fixed): lib/event_names.ts has the alias `productsearched`, but the Segment e-commerce spec
// names the event "Products Searched" (plural), which squashes to `productssearched` and
// is passed through as a custom name instead of becoming `search`.
Deno.test({
  name: 'canonicalEventName() maps Segment\'s "Products Searched" to search',
  fn() {
    assert.equal(canonicalEventName("Products Searched"), "search");
  },
});

// Regression (fixed): lib/event_names.ts claims "every platform's spelling maps onto one of these", but
// Reddit's `PageVisit` and Pinterest's `page_visit` (their page-view event names, both
// supported destinations) come back unchanged instead of `page_view`.
Deno.test({
  name: "canonicalEventName() maps Reddit's PageVisit and Pinterest's page_visit to page_view",
  fn() {
    assert.equal(canonicalEventName("PageVisit"), "page_view");
    assert.equal(canonicalEventName("page_visit"), "page_view");
  },
});
