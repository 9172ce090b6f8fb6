export { createDoctor, type CreateDoctorParameters, type Doctor, type FollowerView } from "./doctor.js";
export {
  findingsForMerchant,
  formatReport,
  problemsOf,
  reportOf,
  type CheckName,
  type DoctorReport,
  type Finding,
  type FindingStatus,
} from "./findings.js";
export { adminCommand, checkChainLiveness, checkChainSetup, checkStore, checkWebhookBacklog, redactUrl, type HeadState } from "./checks.js";
export { VAULT_ADMIN_ABI, VAULT_ROLES, type VaultRole } from "./vaultAbi.js";
export {
  AdminCallError,
  adminClient,
  explainRevert,
  grantRoleCall,
  readMerchant,
  registerMerchantCall,
  sendAdminCall,
  setMerchantFeeCall,
  setMerchantSignerCall,
  setTokenAllowedCall,
  type AdminCall,
} from "./vaultAdmin.js";
