// sfdx-lwc-jest's own configuration (stubs for lightning/* and the wire adapters), limited to this project.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    // support.js in __tests__ is a helper, not a test file.
    testMatch: ['**/__tests__/**/*.test.js'],
    testPathIgnorePatterns: [...jestConfig.testPathIgnorePatterns, '<rootDir>/.sfdx/', '<rootDir>/.sf/'],
    // A test that leaves a wire or a timer behind fails instead of hanging CI.
    testTimeout: 10000
};
