// ESLint 9 flat config (eslint-config-lwc 4 supports only the flat format): Salesforce's recommended LWC rules,
// its i18n rules (no hard-coded locale formatting), and Jest's rules for the component tests.
const lwcConfig = require('@salesforce/eslint-config-lwc');
const jestPlugin = require('eslint-plugin-jest');
const globals = require('globals');

module.exports = [
    { ignores: ['node_modules/**', '.sfdx/**', '.sf/**', 'coverage/**'] },
    ...lwcConfig.configs.recommended,
    ...lwcConfig.configs.i18n,
    {
        files: ['**/__tests__/**/*.js'],
        ...jestPlugin.configs['flat/recommended'],
        languageOptions: {
            ...jestPlugin.configs['flat/recommended'].languageOptions,
            globals: { ...globals.jest, ...globals.node }
        }
    },
    {
        files: ['jest.config.js', 'eslint.config.js'],
        languageOptions: { sourceType: 'commonjs', globals: globals.node }
    }
];
