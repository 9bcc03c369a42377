// @pinrank/contracts/testing: behavioural contract suites of the shared APIs,
// run against each real service and against the fakes other projects test with.
// Test code only (jest globals); never imported by production code.
export {
  describeEmbeddingStoreContract,
  embeddingStoreContractFixture,
  unitVector,
  type ContractItem,
  type EmbeddingStoreFixture,
  type StoreUnderTest,
} from './embedding-store.contract';
