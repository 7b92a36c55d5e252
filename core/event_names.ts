/** Sluice's canonical event names; every platform's spelling maps onto one of these. */
export const CANONICAL_EVENT_NAMES = [
  "page_view",
  "view_content",
  "view_category",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "add_to_wishlist",
  "view_cart",
  "initiate_checkout",
  "add_payment_info",
  "add_shipping_info",
  "purchase",
  "refund",
  "lead",
  "complete_registration",
  "login",
  "subscribe",
  "start_trial",
  "contact",
  "schedule",
  "submit_application",
  "customize_product",
  "find_location",
  "donate",
  "app_install",
  "screen_view",
  "identify",
  "group",
  "alias",
] as const;

/** One canonical event name. */
export type CanonicalEventName = typeof CANONICAL_EVENT_NAMES[number];

const ALIASES = new Map<string, CanonicalEventName>(Object.entries(
  {
    pageview: "page_view",
    page: "page_view",
    pageviewed: "page_view",
    pagevisit: "page_view",
    pageload: "page_view",
    viewcontent: "view_content",
    viewitem: "view_content",
    productviewed: "view_content",
    viewproduct: "view_content",
    viewitemlist: "view_category",
    productlistviewed: "view_category",
    productssearched: "search",
    addtocart: "add_to_cart",
    productadded: "add_to_cart",
    addcart: "add_to_cart",
    removefromcart: "remove_from_cart",
    productremoved: "remove_from_cart",
    addtowishlist: "add_to_wishlist",
    productaddedtowishlist: "add_to_wishlist",
    cartviewed: "view_cart",
    initiatecheckout: "initiate_checkout",
    begincheckout: "initiate_checkout",
    checkoutstarted: "initiate_checkout",
    startcheckout: "initiate_checkout",
    addpaymentinfo: "add_payment_info",
    paymentinfoentered: "add_payment_info",
    addshippinginfo: "add_shipping_info",
    purchase: "purchase",
    ordercompleted: "purchase",
    completepayment: "purchase",
    placeanorder: "purchase",
    orderrefunded: "refund",
    generatelead: "lead",
    leadgenerated: "lead",
    submitform: "lead",
    completeregistration: "complete_registration",
    signup: "complete_registration",
    signedup: "complete_registration",
    registration: "complete_registration",
    signedin: "login",
    subscription: "subscribe",
    trialstarted: "start_trial",
    starttrial: "start_trial",
    contact: "contact",
    findlocation: "find_location",
    customizeproduct: "customize_product",
    submitapplication: "submit_application",
    appinstall: "app_install",
    applicationinstalled: "app_install",
    screen: "screen_view",
    screenview: "screen_view",
  } satisfies Record<string, CanonicalEventName>,
));

for (const name of CANONICAL_EVENT_NAMES) {
  if (!ALIASES.has(squash(name))) ALIASES.set(squash(name), name);
}

function squash(name: string): string {
  return name.toLowerCase().replace(/[\s_\-.]+/g, "");
}

/**
 * Maps any spelling of a known event (`PageView`, `Order Completed`, `add-to-cart`)
 * to its canonical name; custom names come back unchanged.
 */
export function canonicalEventName(name: string): string {
  return ALIASES.get(squash(name)) ?? name;
}
