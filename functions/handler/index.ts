// Placeholder: the real handler lands with the billing run. Kept so the stack synthesizes meanwhile.
export const handler = async (): Promise<{ status: string }> => ({ status: "not-implemented" });
