// ESLint over the hub's browser code (`make check`, `npm run lint`): the operator pages in
// hub/inbox/static and the website widget in widget/. Plain scripts served as written, no build.
import js from '@eslint/js';
import globals from 'globals';

// The house rule: text goes in with textContent or DOM nodes, never parsed as HTML.
const NO_HTML = 'builds HTML from a string: write text with textContent and nodes with createElement';
const htmlSinks = ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'write', 'writeln'];

export default [
  js.configs.recommended,
  {
    files: ['hub/inbox/static/**/*.js', 'widget/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-restricted-properties': [
        'error',
        ...htmlSinks.map((property) => ({ property, message: `${property} ${NO_HTML}.` })),
      ],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      strict: ['error', 'function'],
      // ES2017 has no optional catch binding: `catch (e) { /* ignored */ }` must name it.
      'no-unused-vars': ['error', { caughtErrors: 'none' }],
    },
  },
  // The operator pages run in the browsers operators use; canned.js matches \p{L} (ES2018).
  { files: ['hub/inbox/static/**/*.js'], languageOptions: { ecmaVersion: 2018 } },
  // The widget runs on any visitor's browser: ES2017 syntax at most.
  { files: ['widget/**/*.js'], languageOptions: { ecmaVersion: 2017 } },
];
