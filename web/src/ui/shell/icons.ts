// Simple 24×24 SVG path icons for the navigation (drawn for Hygeia; decorative, hidden from screen readers).
export const ICONS = {
  records: 'M6 2h9l5 5v15H6zM14 3.5V8h4.5M8 12h8v1.5H8zm0 3h8v1.5H8zm0 3h5v1.5H8z',
  access: 'M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5zm0 10h6c-.5 4-3 7.4-6 8.4V12H6V6.3l6-2.2z',
  agreements: 'M4 4h16v12H5.2L4 17.2zm2 3v1.5h12V7zm0 3v1.5h9V10zM4 20h16v1.5H4z',
  consortium: 'M12 2a3 3 0 1 1 0 6 3 3 0 0 1 0-6M5 14a3 3 0 1 1 0 6 3 3 0 0 1 0-6m14 0a3 3 0 1 1 0 6 3 3 0 0 1 0-6M11.2 8h1.6v3.2l4.5 3-.9 1.3L12 12.6l-4.4 2.9-.9-1.3 4.5-3z',
  learning: 'M3 19h18v2H3zm2-2V9h3v8zm5.5 0V4h3v13zm5.5 0v-6h3v6z',
  security: 'M12 1 3 5v6c0 5.6 3.8 10.7 9 12 5.2-1.3 9-6.4 9-12V5zm-1 6h2v6h-2zm0 8h2v2h-2z',
  consults: 'M4 6h11a1 1 0 0 1 1 1v3.5l4-3v9l-4-3V17a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1',
  wearables:
    'M12 21s-7.5-4.6-9.6-9.4C1 8.3 3 4.5 6.6 4.5c2 0 3.4 1.1 4.4 2.5 1-1.4 2.4-2.5 4.4-2.5 3.6 0 5.6 3.8 4.2 7.1C19.5 16.4 12 21 12 21m-3.8-9.8H5.6v1.6h3.5l1.2-2.2 2 4.8 1.7-3h4.4v-1.6h-5.3l-.8 1.4-2.1-4.9z',
  consents: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  audit: 'M13 3a9 9 0 1 1-8.5 6H6.6A7 7 0 1 0 13 5v3L8.5 4 13 0zM12 8h1.5v4.3l3.5 2.1-.8 1.3-4.2-2.6z',
} as const;
